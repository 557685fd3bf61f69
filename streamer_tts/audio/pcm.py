"""Raw PCM helpers: the one sample format, resampling, gain and ramps.

Everything in the sound path is signed 16-bit little-endian ("s16le") and, in
practice, mono: engines deliver it, the feed mixes nothing, the device takes it.
Keeping a single format means no function here has to guess what bytes mean;
:class:`PcmFormat` only carries the rate (and the channel count, for the few
checks that need it).

All functions are pure: bytes in, new bytes out.
"""

from __future__ import annotations

import numpy as np
import soxr

from ..core.pcm_format import SAMPLE_WIDTH_BYTES, PcmFormat

__all__ = [
    "SAMPLE_WIDTH_BYTES",
    "PcmFormat",
    "Resampler",
    "apply_volume",
    "fade",
    "fade_in_place",
    "ramp_down",
    "ramp_up",
    "resample",
    "silence",
    "to_pcm",
]

_INT16_MIN = -32768
_INT16_MAX = 32767
_SOXR_QUALITY = "HQ"
"""soxr's default: transparent for speech, cheap enough to run per chunk."""


def _samples(pcm: bytes | bytearray | memoryview) -> np.ndarray:
    """View ``pcm`` as int16 samples, ignoring a trailing odd byte."""
    usable = len(pcm) - len(pcm) % SAMPLE_WIDTH_BYTES
    return np.frombuffer(pcm, dtype="<i2", count=usable // SAMPLE_WIDTH_BYTES)


def to_pcm(samples: np.ndarray) -> bytes:
    """Samples (any numeric array) as s16le, rounded and clipped, never wrapped."""
    clipped = np.clip(np.rint(samples), _INT16_MIN, _INT16_MAX)
    return clipped.astype("<i2").tobytes()


def _require_mono(*formats: PcmFormat) -> None:
    for fmt in formats:
        if fmt.channels != 1:
            raise ValueError(f"only mono PCM is supported here, got {fmt.channels} channels")


def silence(fmt: PcmFormat, frames: int) -> bytes:
    """``frames`` frames of digital silence."""
    return bytes(fmt.nbytes(max(frames, 0)))


def apply_volume(pcm: bytes, gain: float) -> bytes:
    """Scale by ``gain`` (1.0 = unchanged), clipping instead of wrapping around."""
    if gain == 1.0:
        return bytes(pcm)
    return to_pcm(_samples(pcm).astype(np.float32) * gain)


def fade(
    pcm: bytes,
    fmt: PcmFormat,
    start_gain: float,
    end_gain: float,
    *,
    offset_frames: int = 0,
    length_frames: int | None = None,
) -> bytes:
    """Apply a linear gain ramp from ``start_gain`` to ``end_gain``.

    The ramp spans ``length_frames`` (default: all of ``pcm``) and ``pcm`` holds
    its frames from ``offset_frames`` on, so one ramp can be applied piecewise
    across device buffers. Frame ``k`` of the ramp gets
    ``start + (end - start) * (k + 1) / length``: the last frame lands exactly on
    ``end_gain``; frames past the ramp keep ``end_gain``.
    """
    _require_mono(fmt)
    samples = _samples(pcm)
    n = len(samples)
    if n == 0:
        return b""
    length = n if length_frames is None else length_frames
    if length <= 0:
        return to_pcm(samples.astype(np.float32) * end_gain)
    k = np.arange(offset_frames + 1, offset_frames + n + 1, dtype=np.float32)
    gains = start_gain + (end_gain - start_gain) * np.minimum(k, length) / length
    return to_pcm(samples.astype(np.float32) * gains)


def fade_in_place(
    samples: np.ndarray,
    start_gain: float,
    end_gain: float,
    *,
    offset_frames: int = 0,
    length_frames: int,
) -> None:
    """:func:`fade` on a writable int16 view (the feed's output buffer), no new bytes.

    For the real-time path: the device callback should not build new buffers
    for every ramp it plays.
    """
    n = len(samples)
    if n == 0:
        return
    if length_frames <= 0:
        gains = np.float32(end_gain)
    else:
        k = np.arange(offset_frames + 1, offset_frames + n + 1, dtype=np.float32)
        gains = start_gain + (end_gain - start_gain) * np.minimum(k, length_frames) / length_frames
    samples[:] = np.clip(np.rint(samples * gains), _INT16_MIN, _INT16_MAX)


def ramp_down(pcm: bytes, fmt: PcmFormat) -> bytes:
    """Linear fade from full level to exactly zero across all of ``pcm``.

    A skip that simply stops the wave mid-cycle clicks; a few milliseconds of
    fade are inaudible as a delay and remove the click.
    """
    return fade(pcm, fmt, 1.0, 0.0)


def ramp_up(pcm: bytes, fmt: PcmFormat) -> bytes:
    """Linear fade from near zero to exactly full level (used on resume)."""
    return fade(pcm, fmt, 0.0, 1.0)


def resample(pcm: bytes, src: PcmFormat, dst: PcmFormat) -> bytes:
    """Convert a whole buffer from ``src`` to ``dst`` sample rate (mono only)."""
    _require_mono(src, dst)
    if src.sample_rate == dst.sample_rate:
        return bytes(pcm)
    samples = _samples(pcm)
    if len(samples) == 0:
        return b""
    out = soxr.resample(samples, src.sample_rate, dst.sample_rate, quality=_SOXR_QUALITY)
    return np.asarray(out, dtype="<i2").tobytes()


class Resampler:
    """Streaming resampler for chunked engine audio.

    Resampling each chunk on its own would restart the filter at every chunk
    boundary (a click every ~50 ms); one :class:`soxr.ResampleStream` keeps its
    state across chunks. Call :meth:`process` with ``last=True`` (possibly with
    an empty chunk) to flush the filter's tail. Not thread-safe: one producer.
    """

    def __init__(self, src: PcmFormat, dst: PcmFormat) -> None:
        _require_mono(src, dst)
        self.src = src
        self.dst = dst
        self._carry = b""
        self._stream = (
            None
            if src.sample_rate == dst.sample_rate
            else soxr.ResampleStream(
                src.sample_rate, dst.sample_rate, 1, dtype="int16", quality=_SOXR_QUALITY
            )
        )

    def process(self, chunk: bytes, last: bool = False) -> bytes:
        """Resample the next chunk; an odd trailing byte waits for the next call."""
        data = self._carry + bytes(chunk)
        usable = len(data) - len(data) % SAMPLE_WIDTH_BYTES
        self._carry = b"" if last else data[usable:]
        data = data[:usable]
        if self._stream is None:
            return data
        samples = np.frombuffer(data, dtype="<i2")
        out = self._stream.resample_chunk(samples, last=last)
        return np.asarray(out, dtype="<i2").tobytes()
