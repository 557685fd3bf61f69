"""The conductor's one timer: a `Wake` in the inbox when something held ends.

A message held by moderation, or waiting for a moderator's approval, is woken
for, not polled: after each turn the conductor names the earliest such end and
this keeps exactly one timer for it, moved only when that instant changes.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .inbox import Wake

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["WakeTimer"]


class WakeTimer:
    """Puts a `Wake` through `put` at the instant last given to :meth:`at`."""

    def __init__(self, put: Callable[[object], bool]) -> None:
        self._put = put
        self._handle: asyncio.TimerHandle | None = None
        self._at: float | None = None

    def at(self, when: float | None, now: float) -> None:
        """Wake at `when` (loop time, None: never) instead of any earlier plan."""
        if when == self._at:
            return
        self.cancel()
        self._handle, self._at = None, when
        if when is not None:
            delay = max(0.0, when - now)
            self._handle = asyncio.get_running_loop().call_later(delay, self._fire)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    def _fire(self) -> None:
        self._handle, self._at = None, None
        self._put(Wake())
