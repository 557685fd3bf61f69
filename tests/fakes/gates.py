"""A rate gate fed by `now`, for core tests (the daemon's gates wrap aiolimiter)."""

from __future__ import annotations

from streamer_tts.core.limits import RateSpec


class FakeGate:
    """A leaky bucket like aiolimiter's: `rate` units per `per_seconds`, burst allowed."""

    def __init__(self, spec: RateSpec) -> None:
        self.spec = spec
        self.level = 0.0
        self.last = 0.0
        self.calls = 0

    def has_capacity(self, now: float) -> bool:
        leak = (now - self.last) * self.spec.rate / self.spec.per_seconds
        self.level = max(0.0, self.level - leak)
        self.last = now
        return self.level + 1 <= self.spec.rate

    def try_acquire(self, now: float) -> bool:
        self.calls += 1
        if not self.has_capacity(now):
            return False
        self.level += 1
        return True
