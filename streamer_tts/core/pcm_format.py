"""The shape of a raw s16le stream, as a value.

It sits in core, below both the engines (which say what they make) and the
sound path (which converts and plays it), so neither has to import the other
for it. `streamer_tts.audio.pcm` re-exports both names.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SAMPLE_WIDTH_BYTES", "PcmFormat"]

SAMPLE_WIDTH_BYTES = 2
"""s16le: two bytes per sample, per channel."""


@dataclass(frozen=True, slots=True)
class PcmFormat:
    """Shape of a raw s16le stream."""

    sample_rate: int
    """Hertz."""
    channels: int = 1

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")
        if self.channels <= 0:
            raise ValueError(f"channels must be positive, got {self.channels}")

    @property
    def bytes_per_frame(self) -> int:
        """One sample for every channel."""
        return SAMPLE_WIDTH_BYTES * self.channels

    def frames(self, nbytes: int) -> int:
        """Whole frames in ``nbytes`` (a trailing partial frame is not counted)."""
        return nbytes // self.bytes_per_frame

    def nbytes(self, frames: int) -> int:
        return frames * self.bytes_per_frame

    def seconds(self, nbytes: int) -> float:
        return self.frames(nbytes) / self.sample_rate

    def frames_for_ms(self, ms: float) -> int:
        """Frames in ``ms`` milliseconds, rounded to the nearest frame."""
        return round(ms * self.sample_rate / 1000)
