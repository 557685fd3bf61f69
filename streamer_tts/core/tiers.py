"""Donation tiers: bits (or money converted to bits) decide a priority.

The table is read top to bottom and the first tier whose `min_bits` the
amount reaches wins, exactly as the streamer wrote it in `config.yaml`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .decisions import Priority

__all__ = ["Tier", "TierTable"]


@dataclass(frozen=True, slots=True)
class Tier:
    min_bits: int
    priority: Priority
    interrupt: bool = False
    voice: str | None = None
    sound: str | None = None

    def __post_init__(self) -> None:
        if self.min_bits < 1:
            raise ValueError("min_bits must be at least 1")


@dataclass(frozen=True, slots=True)
class TierTable:
    tiers: tuple[Tier, ...]

    @classmethod
    def of(cls, tiers: Iterable[Tier]) -> TierTable:
        return cls(tuple(tiers))

    def match(self, bits: int) -> Tier | None:
        """The first tier from the top that `bits` reaches; None below them all."""
        for tier in self.tiers:
            if bits >= tier.min_bits:
                return tier
        return None

    @property
    def minimum_bits(self) -> int:
        return min((t.min_bits for t in self.tiers), default=1)
