"""How much streamed audio to hold back before a message starts sounding.

A voice streamed at real-time pace (Cartesia sends 40 ms chunks as fast as it
speaks) leaves the device nothing to play whenever one chunk is a few ms late,
if playback starts on the first chunk. Starting ``d`` later gives every later
chunk ``d`` of slack: chunk *k* arrives ``j_k`` late relative to the first and
finds ``d - j_k`` frames still buffered. So the feed measures that slack (the
frames buffered just before each write) and learns the lateness ``j = d -
slack`` it must ride out; an underrun of ``s`` frames is lateness ``d + s``.

The hold-back (``target``) follows the worst lateness seen, plus a safety
margin: it grows at once after an underrun or a near miss and, after each
message that came without one, shrinks by half its excess over the worst of
the last few messages (at least a small step; never below that worst), so one
bad spell on a busy machine does not cost first-audio time forever, and the
first guess is gone within a few messages. Pure arithmetic on frame counts:
the feed calls it under its lock.
"""

from __future__ import annotations

from collections import deque
from typing import Final

__all__ = ["START_MS", "JitterEstimate"]

START_MS: Final = 40.0
"""First hold-back, before anything was measured: rides out a chunk up to
~30 ms late (a busy machine, a loaded network) for 40 ms of first-audio time;
steady delivery then brings it down within a few messages."""
MIN_MS: Final = 15.0
"""Never less: the device callback itself wakes with a few ms of jitter."""
SAFETY_MS: Final = 10.0
"""Slack kept above the worst lateness seen (at least; a quarter above it when larger)."""
SHRINK_MS: Final = 4.0
"""Taken off the remembered lateness at least, per message streamed without a
near miss (half the excess over the recent worst when that is more)."""
RECENT_MESSAGES: Final = 6
"""Never shrinks below the worst lateness of this many last messages: a voice
late by up to 30 ms at random shows 25 in one message and 30 in the next: this
memory, not a count of calm messages, keeps one calm message from fooling it."""


class JitterEstimate:
    """Remembered delivery lateness and the hold-back it asks for, in frames."""

    def __init__(self, sample_rate: int, *, max_ms: float) -> None:
        self._per_ms = sample_rate / 1000
        self.max_frames = max(0, round(max_ms * self._per_ms))
        self.min_frames = min(self.max_frames, round(MIN_MS * self._per_ms))
        self._safety = SAFETY_MS * self._per_ms
        self._shrink = SHRINK_MS * self._per_ms
        self.lateness = max(0.0, (START_MS - SAFETY_MS) * self._per_ms)
        """Worst lateness remembered (frames); decays while delivery is steady."""
        self._recent: deque[float] = deque(maxlen=RECENT_MESSAGES)

    @property
    def target_frames(self) -> int:
        """Frames of a streamed segment to hold back before it starts."""
        wanted = self.lateness + max(self._safety, self.lateness / 4)
        return max(self.min_frames, min(self.max_frames, round(wanted)))

    def observe(self, lateness_frames: float) -> None:
        """A segment saw this lateness (slack used up, or an underrun): grow at once.

        Remembered up to what the largest hold-back can absorb: beyond that,
        a longer memory would only delay the way back down.
        """
        late = min(lateness_frames, float(self.max_frames))
        if late >= self.lateness:
            self.lateness = late

    def segment_done(self, worst_lateness_frames: float | None) -> None:
        """A streamed segment ended; ``None`` if it told nothing (whole, paused, lost)."""
        if worst_lateness_frames is None:
            return
        worst = min(worst_lateness_frames, float(self.max_frames))
        self._recent.append(worst)
        if worst >= self.lateness:
            self.lateness = worst
            return
        floor = max(self._recent)
        step = max(self._shrink, (self.lateness - floor) / 2)
        self.lateness = max(floor, self.lateness - step, 0.0)
