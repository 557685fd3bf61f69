"""The ITU-R BS.1770-4 loudness meter, fed in pieces as audio streams.

K-weighting (the standard's two biquads, as one 4th-order filter whose state
carries over between pieces), 400 ms blocks every 100 ms, gated at -70 LUFS
and -10 LU: what pyloudnorm measures on a whole signal, for a stream (the
tests hold the two together). Apart from the leveller, which decides gains
from it, because the meter is the standard's and the leveller is ours.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from scipy.signal import lfilter, sos2tf

__all__ = ["FULL_SCALE", "Meter", "integrated_loudness", "lufs", "power"]

_ABS_GATE: Final = -70.0
_QUIET_Z: Final = 10 ** ((-50.0 + 0.691) / 10)
"""Before a whole block, hops below -50 LUFS at the start are a lead-in, not the voice."""
_REL_GATE: Final = -10.0
_BLOCK_SUBS: Final = 4  # a 400 ms block is four 100 ms hops
FULL_SCALE: Final = 32768.0


def _k_weighting(rate: int) -> np.ndarray:
    """BS.1770's two biquads (high shelf +4 dB at 1.5 kHz, high pass at 38 Hz) as
    second-order sections, from the same RBJ formulas pyloudnorm uses."""
    sections = []
    for kind, gain_db, q, fc in (("shelf", 4.0, 1 / math.sqrt(2), 1500.0), ("hp", 0.0, 0.5, 38.0)):
        a = 10 ** (gain_db / 40)
        w0 = 2 * math.pi * fc / rate
        alpha = math.sin(w0) / (2 * q)
        cos = math.cos(w0)
        if kind == "shelf":
            b = [
                a * ((a + 1) + (a - 1) * cos + 2 * math.sqrt(a) * alpha),
                -2 * a * ((a - 1) + (a + 1) * cos),
                a * ((a + 1) + (a - 1) * cos - 2 * math.sqrt(a) * alpha),
            ]
            den = [
                (a + 1) - (a - 1) * cos + 2 * math.sqrt(a) * alpha,
                2 * ((a - 1) - (a + 1) * cos),
                (a + 1) - (a - 1) * cos - 2 * math.sqrt(a) * alpha,
            ]
        else:
            b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
            den = [1 + alpha, -2 * cos, 1 - alpha]
        sections.append([*(x / den[0] for x in b), *(x / den[0] for x in den)])
    return np.array(sections)


def power(lufs: float) -> float:
    return 10 ** ((lufs + 0.691) / 10)


def lufs(mean_square: float) -> float:
    return -0.691 + 10 * math.log10(mean_square) if mean_square > 0 else -math.inf


class Meter:
    """BS.1770-4 integrated loudness of a mono signal fed in pieces (floats, full
    scale 1.0): the filter state and the 100 ms hop sums carry over."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._b, self._a = sos2tf(_k_weighting(rate))  # one 4th-order filter: fewer calls
        self._zi = np.zeros(4)
        self.hop = max(1, round(rate * 0.1))
        self._hops: list[float] = []  # sum of squares of each whole 100 ms hop
        self._partial = 0.0  # ... and of the hop being filled
        self._partial_n = 0
        self._blocks: list[float] = []  # mean square of each whole 400 ms block

    def feed(self, x: np.ndarray) -> None:
        y, self._zi = lfilter(self._b, self._a, x, zi=self._zi)
        sq = np.square(y)
        i = 0
        while i < len(sq):
            take = min(self.hop - self._partial_n, len(sq) - i)
            self._partial += float(sq[i : i + take].sum())
            self._partial_n += take
            i += take
            if self._partial_n == self.hop:
                self._hops.append(self._partial)
                self._partial, self._partial_n = 0.0, 0
                if len(self._hops) >= _BLOCK_SUBS:
                    energy = sum(self._hops[-_BLOCK_SUBS:])
                    self._blocks.append(energy / (self.hop * _BLOCK_SUBS))

    def copy(self) -> Meter:
        twin = Meter.__new__(Meter)
        twin.__dict__.update(self.__dict__)
        twin._hops, twin._blocks = list(self._hops), list(self._blocks)
        return twin

    @property
    def blocks(self) -> int:
        return len(self._blocks)

    def integrated(self) -> float | None:
        """Gated loudness over the whole 400 ms blocks so far; None if none passes the gates."""
        total, n = self.gated()
        return lufs(total / n) if n else None

    def gated(self, last: int = 0) -> tuple[float, float]:
        """Sum and count of the mean squares of the blocks (the `last` ones, if
        given) that pass both gates. Before the first whole block: the audio in
        hand as a part of one (its weight the part), from its first hop above
        -50 LUFS on: a silent lead-in says nothing about the voice, and pauses
        count, as they do in a block."""
        if self._blocks:
            return _gated(np.array(self._blocks[-last:]))
        hops = [*self._hops, self._partial]
        sizes = [self.hop] * len(self._hops) + [self._partial_n]
        start = next(
            (i for i, (h, n) in enumerate(zip(hops, sizes, strict=True)) if n and h / n > _QUIET_Z),
            None,
        )
        count = sum(sizes[start:]) if start is not None else 0
        if count < self.hop // 8:
            return 0.0, 0.0
        weight = count / (self.hop * _BLOCK_SUBS)
        return sum(hops[start:]) / count * weight, weight


def _gated(z: np.ndarray) -> tuple[float, float]:
    if z.size == 0:
        return 0.0, 0.0
    with np.errstate(divide="ignore"):
        loud = -0.691 + 10 * np.log10(z)
    above = z[loud > _ABS_GATE]
    if above.size == 0:
        return 0.0, 0.0
    relative = lufs(float(above.mean())) + _REL_GATE
    kept = z[(loud > relative) & (loud > _ABS_GATE)]
    return float(kept.sum()), float(kept.size)


def integrated_loudness(samples: np.ndarray, rate: int) -> float | None:
    """Integrated loudness (LUFS) of int16 samples known whole; a clip shorter
    than one block is measured as one block. None for silence."""
    x = samples.astype(np.float64) / FULL_SCALE
    meter = Meter(rate)
    meter.feed(x)
    if meter.blocks:
        return meter.integrated()
    y = lfilter(meter._b, meter._a, x)
    loud = lufs(float(np.mean(np.square(y)))) if len(y) else -math.inf
    return loud if loud > _ABS_GATE else None
