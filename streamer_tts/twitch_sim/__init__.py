"""A local Twitch (OAuth, Helix, EventSub WebSocket) for the tests, the demo and the bench.

It ships with the daemon because `make demo` runs on it; nothing in the
daemon itself imports it. See :mod:`.server` for what it plays and how.
"""

from .server import DEFAULT_BOT, DEFAULT_BROADCASTER, SimRequest, SimUser, TwitchSim

__all__ = ["DEFAULT_BOT", "DEFAULT_BROADCASTER", "SimRequest", "SimUser", "TwitchSim"]
