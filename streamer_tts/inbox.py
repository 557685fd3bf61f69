"""The conductor's inbox: one ordered line of everything that happens.

Adapters, the player's reports, the journal writer and signal handlers all
`put` here without waiting; the conductor takes items in order. Free chat
is bounded (`INBOX_SIZE`: a stuck conductor must not eat all memory, and a
refused `!tts` costs nobody money). Everything else always gets in, in the
same order (money, moderation, the player's and journal's reports, a
reload): a full inbox never drops a paid event. Those past the bound are
counted in `over_bound`, so a flood shows in the figures.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .core.events import Incoming

if TYPE_CHECKING:
    from .core.decisions import Decision
    from .core.rules import Rules

__all__ = ["INBOX_SIZE", "Ask", "Halt", "Inbox", "Reload", "Wake"]

# Far above any real burst (a raid's chat flood is rate-limited right after
# this): a full inbox means the conductor is stuck, which the watchdog catches.
INBOX_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Ask:
    """An event whose decision someone awaits (the control API)."""

    event: Any
    answer: asyncio.Future[Decision]


@dataclass(frozen=True, slots=True)
class Reload:
    """New rules and volume from a reloaded config (SIGHUP)."""

    rules: Rules
    volume: float


@dataclass(frozen=True, slots=True)
class Halt:
    """Start nothing new: the daemon is stopping."""


@dataclass(frozen=True, slots=True)
class Wake:
    """Only makes the conductor look at the queue (after a restore)."""


def _sheddable(item: object) -> bool:
    """Only free viewer messages may be refused when the inbox is full."""
    if isinstance(item, Ask):
        item = item.event
    return isinstance(item, Incoming) and not item.paid


class Inbox:
    def __init__(self, bound: int = INBOX_SIZE) -> None:
        self.bound = bound
        self._items: deque[object] = deque()
        self._ready = asyncio.Event()
        self.refused = 0  # free messages refused while full
        self.over_bound = 0  # items let in past the bound (paid, control, reports)
        self.taken = 0  # items handed to the consumer: its heartbeat

    def put(self, item: object) -> bool:
        """Add without waiting; False only for a free message while full."""
        if len(self._items) >= self.bound:
            if _sheddable(item):
                self.refused += 1
                return False
            self.over_bound += 1
        self._items.append(item)
        self._ready.set()
        return True

    async def get(self) -> object:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        self.taken += 1
        return self._items.popleft()

    def empty(self) -> bool:
        return not self._items

    def __len__(self) -> int:
        return len(self._items)
