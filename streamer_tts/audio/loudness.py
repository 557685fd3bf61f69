"""Matched loudness: every message brought to `audio.loudness_lufs` as it streams.

Engines differ by several dB (a Piper voice is quieter than a cloud one), so
a fixed volume cannot make them sound alike. A :class:`Leveller` measures
each message with the ITU-R BS.1770-4 meter (K-weighting, 400 ms blocks
every 100 ms, gated at -70 LUFS and -10 LU) *while* it streams: the filter
keeps its state between chunks, so a chunk costs O(its length). The chunk in
hand is measured before it goes out: the look-ahead engines give for free
(Piper a whole clause, a streamed voice its jitter buffer).

The gain is target minus the voice's loudness so far (this message's, and
what the voice needed before, which weighs as 2 s of audio), clamped to
+-24 dB and reached by a ramp (no zipper steps). No sample leaves above
-1 dBFS: a look-ahead limiter lowers the gain smoothly *before* a peak (Piper
normalises every clause to full scale, so a quiet Piper voice cannot be raised
by a plain gain without one). A makeup gain on top gives back what the
limiter takes and what an early estimate missed, so the message as a whole
lands on the target. The only audio held back is the limiter's 10 ms.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d

from .. import sounds
from .meter import FULL_SCALE, Meter, integrated_loudness, lufs, power
from .pcm import resample, to_pcm

if TYPE_CHECKING:
    from ..core.pcm_format import PcmFormat

__all__ = [
    "CEILING_DBFS",
    "MAX_GAIN_DB",
    "Leveller",
    "Meter",
    "VoiceLevel",
    "alert_pcm",
    "integrated_loudness",
    "level_whole",
]

MAX_GAIN_DB: Final = 24.0
"""Most the leveller raises or lowers a message (a whisper is not made a shout)."""
CEILING_DBFS: Final = -1.0
"""No sample leaves the leveller above this (gain_db and volume included)."""
MIN_RAMP_MS: Final = 10.0
"""A gain change is spread over at least this long, even across short chunks."""
ATTACK_MS: Final = 5.0
"""The limiter's look-ahead: its gain falls over 2x this, ending at the peak."""
HOLD_MS: Final = 40.0
"""... and stays down this long after it before it rises again (no flutter)."""
HORIZON_S: Final = 1.0
"""The makeup is spread over the chunk in hand or this much audio (half of it
at least), the part not in hand assumed like the voice's last 2 s
(:data:`RECENT_BLOCKS`: speech falls towards its end)."""
RECENT_BLOCKS: Final = 20
_LOSS_TAU_S: Final = 1.0  # the limiter's loss is measured over about the last second
PRIOR_BLOCKS: Final = 20
"""A voice's past loudness weighs as this many blocks (2 s of its audio): one
message's loud first word does not swing it, a new voice is learnt fast."""
MAX_MAKEUP_DB: Final = 6.0
"""Most loudness given back for what the limiter took (a shout stays limited)."""
_MAX_GAIN: Final = 10 ** (MAX_GAIN_DB / 20)
_CEILING: Final = 10 ** (CEILING_DBFS / 20) * 32767


def _clamp(gain_db: float) -> float:
    return max(-MAX_GAIN_DB, min(MAX_GAIN_DB, gain_db))


def _clamp_makeup(makeup_db: float) -> float:
    return max(-MAX_MAKEUP_DB, min(MAX_MAKEUP_DB, makeup_db))


@dataclass(frozen=True)
class VoiceLevel:
    """What a voice needed so far: where its next message starts."""

    level_db: float  # target minus the voice's raw loudness
    makeup_db: float = 0.0  # what the limiter took from its last message


class Leveller:
    """One message's gain: ``process`` each chunk (s16le mono) as it arrives,
    ``flush`` at its end.

    ``post_gain`` (the alias's gain_db and the master volume, linear) is
    applied on top of the levelling gain, and the ceiling holds for the whole:
    where a peak would pass it, a limiter lowers the gain around it (down over
    10 ms ending at the peak, held 40 ms, back up over 10 ms), so a voice whose
    engine normalises its peaks to full scale (Piper) still reaches the
    target. A makeup gain (at most +-6 dB) gives back what the limiter takes
    and what the loudness so far mispredicted, so that the message as a whole
    lands on the target. For the limiter's look-ahead the last 10 ms of each
    chunk wait for the next one (``flush`` gives them at the end).
    ``history``: what this voice needed so far; its level weighs as
    :data:`PRIOR_BLOCKS` blocks against what this message measures, and its
    makeup is where the first chunk's starts (one trial, not two, on the first
    sound's way).
    """

    def __init__(
        self,
        rate: int,
        target_lufs: float,
        *,
        history: VoiceLevel | None = None,
        post_gain: float = 1.0,
    ) -> None:
        self.target = target_lufs
        self.post_gain = post_gain
        self._meter = Meter(rate)  # the raw audio
        self._start_db = history.level_db if history is not None else None
        self._min_ramp = max(1, round(rate * MIN_RAMP_MS / 1000))
        self._attack = max(1, round(rate * ATTACK_MS / 1000))
        self._hold = 2 * max(1, round(rate * HOLD_MS / 2000))  # even: an odd window
        self._gain: float | None = None  # linear, total, at the last sample so far
        self._want: float | None = None  # linear level gain aimed at; None: none yet
        self._x = np.zeros(0)  # samples not released yet
        self._g = np.zeros(0)  # ... and their gain before limiting
        self._past = np.ones(self._hold + 2 * self._attack)  # limits of released samples
        self._out = Meter(rate)  # what went out (before post_gain)
        # linear: what the level alone missed, given back; a known voice starts
        # from what the limiter took from its last message
        self._makeup = 10 ** (history.makeup_db / 20) if history is not None else 1.0
        self._first = history is not None  # one trial only: first sound waits on it
        self._energy = [0.0, 0.0]  # went out lately: before the limiter, after it
        self._taken = [0.0, 0.0]  # ... and in all
        self._rate = rate

    def history(self) -> VoiceLevel | None:
        """What this voice needs, from its past and this message (for its next
        one); None if nothing was ever loud enough to tell."""
        level = self._start_db if self._meter.integrated() is None else self._level_db()
        if level is None:
            return None
        before, after = self._taken
        taken_db = 10 * math.log10(before / after) if after > 0 else 0.0  # the limiter's, in all
        return VoiceLevel(level, _clamp_makeup(taken_db))

    def _level_loudness(self, last: int = 0) -> float | None:
        """The voice's loudness as known now: this message's (its `last` blocks,
        if given), and its past."""
        total, n = self._meter.gated(last)
        if self._start_db is not None:  # the voice's loudness so far, as a prior
            prior = power(self.target - self._start_db)
            total, n = total + prior * PRIOR_BLOCKS, n + PRIOR_BLOCKS
        return lufs(total / n) if n else None

    def _level_db(self) -> float | None:
        loud = self._level_loudness()
        return None if loud is None else _clamp(self.target - loud)

    def process(self, pcm: bytes) -> bytes:
        """What was held, then the chunk levelled, less its last 10 ms (held)."""
        usable = len(pcm) - len(pcm) % 2
        x = np.frombuffer(pcm, dtype="<i2", count=usable // 2).astype(np.float64)
        if x.size:
            self._meter.feed(x / FULL_SCALE)
            level_db = self._level_db()
            if level_db is not None:
                self._want = 10 ** (level_db / 20)
            makeup = self._correct(x, quick=self._first)
            self._first = False
            env, self._gain = self._envelope(x, makeup)
            self._x = np.concatenate((self._x, x))
            self._g = np.concatenate((self._g, env))
        return self._release(len(self._x) - 2 * self._attack)

    def flush(self) -> bytes:
        """The end of the message: everything held, levelled."""
        return self._release(len(self._x))

    def _correct(self, x: np.ndarray, *, quick: bool = False) -> float:
        """The makeup on top of the level: it gives back what the limiter takes
        and what an early estimate missed (a loud first clause, a quiet rest).
        Chosen so that what went out, the chunk in hand and about
        :data:`HORIZON_S` more audio like the voice so far land on the target:
        a big chunk (a Piper clause) is corrected within itself, a stream of
        small ones slowly. Found by two trials of the chunk through the limiter
        (a secant step: more gain, more limiting)."""
        loud_in = self._level_loudness(last=RECENT_BLOCKS)
        if self._want is None or loud_in is None or self.post_gain <= 0:
            return self._makeup
        past, n_past = self._out.gated()
        xs = np.concatenate((self._x, x))
        # in 100 ms blocks: the correction is spread over HORIZON_S at least
        horizon = max(HORIZON_S * 5, HORIZON_S * 10 - len(x) / self._meter.hop)
        level_power = self._want**2 * power(loud_in)  # a block out, at makeup 1

        def error_db(makeup_db: float) -> float | None:
            """How far from the target that makeup would land (LU)."""
            m = 10 ** (makeup_db / 20)
            env, _ = self._envelope(x, m)
            before = xs * np.concatenate((self._g, env))
            after = before * self._limits(before)
            trial = self._out.copy()
            trial.feed(after / (FULL_SCALE * self.post_gain))
            total, n = trial.gated()
            e_before = self._energy[0] + float(np.square(before).sum())
            e_after = self._energy[1] + float(np.square(after).sum())
            kept = e_after / e_before if e_before > 0 else 1.0
            ahead = level_power * kept * m * m * horizon
            projected = (max(total, past) + ahead) / (max(n, n_past) + horizon)
            return lufs(projected) - self.target if projected > 0 else None

        d0 = 20 * math.log10(self._makeup)
        e0 = error_db(d0)
        if e0 is None or abs(e0) < 0.05:  # on target already: one trial is enough
            return self._makeup
        d1 = _clamp_makeup(d0 - e0)
        e1 = None if quick else error_db(d1)
        if e1 is not None and abs(e1 - e0) > 1e-6:
            d1 = _clamp_makeup(d1 - e1 * (d1 - d0) / (e1 - e0))
        self._makeup = 10 ** (d1 / 20)
        return self._makeup

    def _envelope(self, x: np.ndarray, makeup: float) -> tuple[np.ndarray, float | None]:
        """The gain (level x makeup x post) for new samples, ramped from the last
        one; and the gain it ends at (None while nothing audible went out)."""
        if self._want is None:  # too little to tell yet (a lead-in): as it is
            return np.full(len(x), self.post_gain), None
        target = min(self._want * makeup, _MAX_GAIN) * self.post_gain
        start = target if self._gain is None else self._gain  # first sound: no ramp
        k = np.arange(1, len(x) + 1, dtype=np.float64)
        env = start + (target - start) * np.minimum(k / max(len(x), self._min_ramp), 1.0)
        return env, float(env[-1])

    def _limits(self, before: np.ndarray) -> np.ndarray:
        """The limiter's gain for the pending samples (levelled: `before`): the
        least gain within [k - hold - attack, k + attack], averaged over
        [k - attack, k + attack]: a smooth curve at or below the ceiling's."""
        with np.errstate(divide="ignore"):
            limit = np.minimum(1.0, _CEILING / np.abs(before))
        z = np.concatenate((self._past, limit))
        m = minimum_filter1d(z, self._hold + 1, origin=self._hold // 2, mode="nearest")
        m = minimum_filter1d(m, 2 * self._attack + 1, mode="constant", cval=1.0)
        s = uniform_filter1d(m, 2 * self._attack + 1, mode="nearest")
        return np.minimum(s, z)[len(self._past) :]

    def _release(self, n: int) -> bytes:
        if n <= 0:
            return b""
        before = self._x * self._g
        s = self._limits(before)
        with np.errstate(divide="ignore"):
            limit = np.minimum(1.0, _CEILING / np.abs(before[:n]))
        self._past = np.concatenate((self._past, limit))[-len(self._past) :]
        y = before[:n] * s[:n]
        self._out.feed(y / (FULL_SCALE * self.post_gain))
        fade = math.exp(-n / (self._rate * _LOSS_TAU_S))
        self._energy[0] = self._energy[0] * fade + float(np.square(before[:n]).sum())
        self._energy[1] = self._energy[1] * fade + float(np.square(y).sum())
        self._taken[0] += float(np.square(before[:n]).sum())
        self._taken[1] += float(np.square(y).sum())
        self._x, self._g = self._x[n:], self._g[n:]
        return to_pcm(y)


def level_whole(pcm: bytes, rate: int, target_lufs: float, post_gain: float = 1.0) -> bytes:
    """A sound known whole (an alert): its exact integrated loudness to the
    target, then `post_gain`, peaks at most at the ceiling."""
    x = np.frombuffer(pcm, dtype="<i2", count=len(pcm) // 2).astype(np.float64)
    loud = integrated_loudness(x, rate) if x.size else None
    if loud is None:
        return to_pcm(x * post_gain)
    gain = 10 ** (_clamp(target_lufs - loud) / 20) * post_gain
    peak = float(np.abs(x).max())
    return to_pcm(x * min(gain, _CEILING / peak))


@functools.lru_cache(maxsize=16)
def alert_pcm(name: str, fmt: PcmFormat, target_lufs: float | None, volume: float) -> bytes:
    """The alert sound as `fmt`, at the target loudness (measured once per file
    and kept: alerts repeat all stream long); the alias gain does not apply."""
    try:
        src, data = sounds.load(name)
    except ValueError:  # gone since the config was read: the message plays without it
        return b""
    pcm = resample(data, src, fmt)
    if target_lufs is None:
        return to_pcm(np.frombuffer(pcm, dtype="<i2").astype(np.float64) * volume)
    return level_whole(pcm, fmt.sample_rate, target_lufs, volume)
