"""Pure analysis of recorded mono int16 audio: where is it audible, which tone.

Frame indices in, frame indices out; turning them into wall time is the
recorder's job (:meth:`tests.edge.pulse.Recorder.frame_time`).
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = [
    "AUDIBLE_DBFS",
    "audible_regions",
    "band_envelope",
    "edges",
    "gaps_frames",
    "inner_silences",
    "last_audible_frame",
    "overlap_windows",
    "tone",
    "window_rms",
]

FULL_SCALE = 32768.0
AUDIBLE_DBFS = -40.0
"""Quieter than this (RMS) counts as silence: far below speech, far above the
few LSBs of noise a resampler leaves behind."""
WINDOW_MS = 5.0


def tone(freq_hz: float, frames: int, rate: int, *, amplitude: float = 0.3) -> bytes:
    """A sine (cosine phase, so the first sample is at full level) as s16le bytes."""
    t = np.arange(frames) / rate
    wave = np.cos(2 * np.pi * freq_hz * t) * amplitude * (FULL_SCALE - 1)
    return np.rint(wave).astype("<i2").tobytes()


def _threshold_rms(dbfs: float) -> float:
    return FULL_SCALE * 10 ** (dbfs / 20)


def window_rms(samples: np.ndarray, rate: int, window_ms: float = WINDOW_MS) -> np.ndarray:
    """RMS of consecutive non-overlapping windows (a trailing partial one is dropped)."""
    size = max(1, round(rate * window_ms / 1000))
    n = len(samples) // size
    blocks = samples[: n * size].astype(np.float64).reshape(n, size)
    return np.sqrt((blocks**2).mean(axis=1))


def audible_regions(
    samples: np.ndarray,
    rate: int,
    *,
    dbfs: float = AUDIBLE_DBFS,
    window_ms: float = WINDOW_MS,
) -> list[tuple[int, int]]:
    """``(start, end)`` frame ranges (end exclusive) of windows louder than ``dbfs``."""
    size = max(1, round(rate * window_ms / 1000))
    loud = window_rms(samples, rate, window_ms) >= _threshold_rms(dbfs)
    regions: list[tuple[int, int]] = []
    start = None
    for i, on in enumerate(loud):
        if on and start is None:
            start = i
        elif not on and start is not None:
            regions.append((start * size, i * size))
            start = None
    if start is not None:
        regions.append((start * size, len(loud) * size))
    return regions


def gaps_frames(regions: list[tuple[int, int]]) -> list[int]:
    """Silent frames between consecutive regions."""
    return [b[0] - a[1] for a, b in itertools.pairwise(regions)]


def last_audible_frame(
    samples: np.ndarray,
    rate: int,
    after_frame: int,
    *,
    dbfs: float = AUDIBLE_DBFS,
    silence_ms: float = 50.0,
) -> int | None:
    """Last audible sample of the sound playing at ``after_frame``.

    The sound ends where the first window run of at least ``silence_ms`` of
    silence after ``after_frame`` begins; inside the last loud window the
    answer is refined to the last sample whose magnitude reaches the peak of a
    sine at the threshold. None if nothing is audible from ``after_frame`` on.
    """
    size = max(1, round(rate * WINDOW_MS / 1000))
    start_window = max(0, after_frame // size)
    rms = window_rms(samples, rate)[start_window:]
    loud = rms >= _threshold_rms(dbfs)
    need = max(1, round(silence_ms / WINDOW_MS))
    quiet_run = 0
    last_loud = None
    for i, on in enumerate(loud):
        if on:
            last_loud, quiet_run = i, 0
        else:
            quiet_run += 1
            if quiet_run >= need:
                break
    if last_loud is None:
        return None
    lo = (start_window + last_loud) * size
    block = np.abs(samples[lo : lo + 2 * size].astype(np.int32))
    peak = _threshold_rms(dbfs) * np.sqrt(2)
    above = np.nonzero(block >= peak)[0]
    return lo + int(above[-1]) if above.size else lo + size - 1


def band_envelope(
    samples: np.ndarray, rate: int, freq_hz: float, *, sigma_hz: float = 150.0
) -> np.ndarray:
    """Instantaneous amplitude of the ``freq_hz`` component (same units as samples).

    A zero-phase Gaussian band-pass (time smear ~1 ms) then the analytic
    signal's magnitude. Zero-phase matters: a step in level crosses 50 % of
    the envelope exactly at the step, so gaps measured at 50 % are unbiased.
    """
    x = samples.astype(np.float64)
    spectrum = np.fft.fft(x)
    freqs = np.fft.fftfreq(len(x), 1 / rate)
    band = np.exp(-0.5 * ((freqs - freq_hz) / sigma_hz) ** 2)
    band[freqs <= 0] = 0.0
    return np.abs(np.fft.ifft(spectrum * band * 2))


def edges(envelope: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Fractional frame positions where ``envelope`` rises above / falls below ``level``."""
    above = envelope >= level
    change = np.nonzero(above[1:] != above[:-1])[0]
    a, b = envelope[change], envelope[change + 1]
    frac = change + (level - a) / np.where(b != a, b - a, 1.0)
    rising = above[change + 1]
    return frac[rising], frac[~rising]


def overlap_windows(
    envelopes: list[np.ndarray], levels: list[float], rate: int, window_ms: float = WINDOW_MS
) -> int:
    """Windows in which two or more tones are each present at their level.

    A window where one tone hands over to the next (gap 0) holds each for only
    part of it, so their mean envelopes sum to about one full level; requiring
    each to reach 60 % of its level counts only true simultaneity.
    """
    size = max(1, round(rate * window_ms / 1000))
    n = min(len(e) for e in envelopes) // size
    present = np.stack(
        [
            env[: n * size].reshape(n, size).mean(axis=1) >= 0.6 * level
            for env, level in zip(envelopes, levels, strict=True)
        ]
    )
    return int((present.sum(axis=0) >= 2).sum())


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of each run of True in ``mask``."""
    padded = np.concatenate(([False], mask, [False]))
    change = np.flatnonzero(padded[1:] != padded[:-1])
    return change[0::2], change[1::2]


def inner_silences(
    samples: np.ndarray,
    rate: int,
    *,
    quiet: float,
    between_ms: float,
    min_ms: float = 0.5,
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Messages and the silences inside them, sample by sample.

    Made for steady tones (no silence of their own): a run of samples quieter
    than ``quiet`` longer than ``min_ms`` is a silence (a sine crosses zero in
    well under one sample at speech frequencies), one of at least
    ``between_ms`` separates two messages. Returns ``(messages, silences)``,
    each as ``(start, end)`` frame ranges, end exclusive. Window RMS would miss
    the 1 ms dropouts a listener still hears as a click.
    """
    starts, ends = _runs(np.abs(samples.astype(np.int32)) < quiet)
    lengths = ends - starts
    sep = lengths >= between_ms * rate / 1000
    short = (lengths >= min_ms * rate / 1000) & ~sep
    # messages lie between separators (or the recording's edges)
    bounds = [0, *np.column_stack((starts[sep], ends[sep])).ravel().tolist(), len(samples)]
    messages = [(int(a), int(b)) for a, b in zip(bounds[0::2], bounds[1::2], strict=True) if b > a]
    silences = [
        (int(a), int(b))
        for a, b in zip(starts[short], ends[short], strict=True)
        if a > 0 and b < len(samples)
    ]
    return messages, silences
