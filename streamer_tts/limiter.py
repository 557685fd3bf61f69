"""Rate gates on aiolimiter, for the core's `Limits` (the edge side).

aiolimiter reads the running loop's clock and its `acquire()` is a coroutine,
so the core cannot call it with an injected `now`. A gate here checks
`has_capacity()` and, only then, drives `acquire()` one step: with capacity
there, acquire never suspends, so it completes synchronously. Must be called
from the event loop thread (the conductor task).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiolimiter import AsyncLimiter

if TYPE_CHECKING:
    from .core.limits import RateSpec

__all__ = ["AiolimiterGate", "aiolimiter_gate"]


class AiolimiterGate:
    __slots__ = ("_limiter",)

    def __init__(self, spec: RateSpec) -> None:
        self._limiter = AsyncLimiter(spec.rate, spec.per_seconds)

    def has_capacity(self, now: float) -> bool:
        return self._limiter.has_capacity()

    def try_acquire(self, now: float) -> bool:
        """Take one unit if available now; `now` is ignored (loop clock rules)."""
        if not self._limiter.has_capacity():
            return False
        step = self._limiter.acquire()
        try:
            step.send(None)
        except StopIteration:
            return True
        step.close()  # pragma: no cover - capacity vanished in between: cannot happen
        return False


def aiolimiter_gate(spec: RateSpec) -> AiolimiterGate:
    return AiolimiterGate(spec)
