"""Which alert sound (if any) plays before a message.

Paid for wins: a tier's sound, then a reward's, then the source's. The value
is the config's name for it (`default` or a path); the player reads it.
"""

from __future__ import annotations

__all__ = ["choose_sound"]


def choose_sound(
    tier: str | None = None, reward: str | None = None, source: str | None = None
) -> str | None:
    """The first sound set, most specific first; None: no chime."""
    for sound in (tier, reward, source):
        if sound:
            return sound
    return None
