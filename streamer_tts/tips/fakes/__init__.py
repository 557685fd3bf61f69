"""Local stand-ins for the tip providers, speaking their documented protocols.

The tests and `make demo` run the real connectors against these, as the
Twitch simulator stands in for Twitch: StreamElements' Astro gateway,
Streamlabs' Socket API (Engine.IO 3) and Ko-fi's webhook sender.
"""

from .astro import FakeAstro
from .kofi import kofi_payload, post_kofi
from .streamlabs import FakeStreamlabs

__all__ = ["FakeAstro", "FakeStreamlabs", "kofi_payload", "post_kofi"]
