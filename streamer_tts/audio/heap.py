"""Full garbage collections only while nothing sounds.

Python's collector walks every tracked object in a full (generation 2)
collection, holding the interpreter lock all the while: 40 to 100 ms for
what the daemon holds (measured beside the dropout bench, one of them just
as the device ran dry). The device callback needs that lock within the
~17 ms its buffers hold. So while the player owns the device, what is alive
once it started is frozen out of the walks (modules, models, clients: they
live as long as the daemon), automatic full collections are off, and the
player's task runs one itself once the feed has been idle for a moment, at
most every :data:`EVERY_S`. Never idle for :data:`MAX_DEFER_S` (an endless
queue), it runs one anyway, so memory stays bounded. The young generations
are collected as ever: ~1 ms each.

Process-wide, like the collector itself: nested players (tests) share one
activation, and the last to stop restores the thresholds.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "CHECK_S",
    "EVERY_S",
    "IDLE_S",
    "MAX_DEFER_S",
    "NO_AUTOMATIC_FULL",
    "QuietCollector",
    "due",
]

log = logging.getLogger(__name__)

IDLE_S: Final = 0.5
"""Idle this long first: the next message often follows within the gap."""
EVERY_S: Final = 30.0
"""At most one full collection this often: each walks what came since start."""
MAX_DEFER_S: Final = 600.0
"""Never longer without one, sounding or not."""
CHECK_S: Final = 0.25
NO_AUTOMATIC_FULL: Final = 1 << 30
"""Generation-2 threshold that the interpreter never reaches on its own."""

_active = 0
_saved: tuple[int, int, int] | None = None


def due(*, now: float, last: float, idle_since: float | None) -> bool:
    """Whether to run a full collection now (times in seconds, one clock)."""
    if now - last >= MAX_DEFER_S:
        return True
    return idle_since is not None and now - idle_since >= IDLE_S and now - last >= EVERY_S


class QuietCollector:
    """Runs the full collections of the process when ``idle()`` says nothing sounds."""

    def __init__(
        self,
        idle: Callable[[], bool],
        *,
        clock: Callable[[], float] = time.monotonic,
        collect: Callable[[], object] = gc.collect,
    ) -> None:
        self._idle = idle
        self._clock = clock
        self._collect = collect
        self._last = clock()
        self._idle_since: float | None = None
        self._started = False
        self.collections = 0

    def start(self) -> None:
        """Freeze what is alive and take full collections over (idempotent)."""
        global _active, _saved
        if self._started:
            return
        self._started = True
        self._last = self._clock()
        if _active == 0:
            _saved = gc.get_threshold()
            gc.freeze()  # (garbage alive now is kept: a startup's worth, once)
            gc.set_threshold(_saved[0], _saved[1], NO_AUTOMATIC_FULL)
        _active += 1

    def stop(self) -> None:
        """Give full collections back to the interpreter (the last one to stop)."""
        global _active, _saved
        if not self._started:
            return
        self._started = False
        _active -= 1
        if _active == 0 and _saved is not None:
            gc.set_threshold(*_saved)
            gc.unfreeze()
            _saved = None

    def tick(self) -> bool:
        """Look once; collect if due. Returns whether it collected."""
        now = self._clock()
        if not self._idle():
            self._idle_since = None
        elif self._idle_since is None:
            self._idle_since = now
        if not due(now=now, last=self._last, idle_since=self._idle_since):
            return False
        began = time.perf_counter()
        self._collect()
        self._last = self._clock()
        self.collections += 1
        log.debug("full collection in %.1f ms", (time.perf_counter() - began) * 1000)
        return True

    async def run(self) -> None:
        """Tick every :data:`CHECK_S` until cancelled."""
        while True:
            await asyncio.sleep(CHECK_S)
            self.tick()
