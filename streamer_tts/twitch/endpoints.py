"""Where TwitchIO talks to: Twitch itself, or the local simulator.

TwitchIO 3.3.2 has no public way to choose its endpoints: they are a class
attribute (`Route.BASE` for Helix, `Route.ID_BASE` for OAuth) and a module
attribute (`twitchio.eventsub.websockets.WSS`, read at each connect, so the
module's own name must change, not an imported copy). This is the one place
that sets them; everything else (bot, `auth`, tests) calls `point_at`.
"""

from __future__ import annotations

from typing import NamedTuple

import twitchio.eventsub.websockets as _ws_module
from twitchio.http import Route

__all__ = ["Endpoints", "current", "point_at"]


class Endpoints(NamedTuple):
    api: str  # Helix, ending in `/helix/`
    auth: str  # OAuth, e.g. `https://id.twitch.tv/`
    eventsub: str  # the EventSub WebSocket URL


def current() -> Endpoints:
    """What TwitchIO would use now (to put it back after a test)."""
    return Endpoints(Route.BASE, Route.ID_BASE, _ws_module.WSS)


def point_at(api: str, auth: str, eventsub: str) -> Endpoints:
    """Aim TwitchIO at these endpoints; returns the previous ones."""
    before = current()
    Route.BASE = api if api.endswith("/") else api + "/"
    Route.ID_BASE = auth if auth.endswith("/") else auth + "/"
    _ws_module.WSS = eventsub
    return before
