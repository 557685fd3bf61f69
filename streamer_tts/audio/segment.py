"""What the feed is made of: its events, its segments, its gain ramps.

Plain data for :mod:`streamer_tts.audio.feed` (which re-exports the public
names); kept apart so the feed module holds only the playback logic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = [
    "CUT",
    "FINISHED",
    "LOST",
    "LOW",
    "STARTED",
    "UNDERRUN",
    "Envelope",
    "FeedError",
    "FeedEvent",
    "FeedEventKind",
    "Segment",
]

FeedEventKind = Literal["started", "finished", "cut", "underrun", "low", "lost"]
STARTED: Final = "started"
FINISHED: Final = "finished"
CUT: Final = "cut"
UNDERRUN: Final = "underrun"
LOW: Final = "low"
LOST: Final = "lost"


class FeedError(Exception):
    """Misuse of the feed by its producer (our bug, not the listener's)."""


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """Something that happened at the device side of the feed.

    ``started``: first frame of a segment pulled. ``finished``: last frame of
    an ended segment pulled (always preceded by ``low``). ``cut``: fade after
    a cut complete (not sent for segments cut before they started).
    ``underrun``: the segment had silence inside it (it ran dry, then more
    audio came); sent once, just before its ``finished`` or ``cut``, with the
    total in ``frames`` and the first dry frame in ``frame``.
    ``low``: the sounding segment is ended and under ``low_water_ms`` remain.
    ``lost``: the output lost its device while this segment was sounding
    (what was in the device's buffers is gone; the rest plays on restore).
    """

    kind: FeedEventKind
    message_id: str
    frame: int
    """:attr:`Feed.frames_pulled` at that instant (for ``finished``: just after
    the segment's last frame, even if the end was only known later)."""
    frames: int = 0
    """For ``underrun``: frames of silence inside the segment."""


@dataclass(slots=True)
class Segment:
    """One message's audio in the feed, and what is known of its delivery."""

    message_id: str
    buf: bytearray = field(default_factory=bytearray)
    audio_end: int | None = None  # frame just after its last pulled frame
    ended: bool = False
    started: bool = False
    low_sent: bool = False
    starving: bool = False
    first_write: int | None = None  # frames pulled when its first audio landed
    delay: int = 0  # frames it sounds behind its producer (hold-back + silences)
    first_clock: float | None = None  # the feed's clock (s) when its first write came
    written: int = 0  # frames written so far
    ahead: float = 0.0  # frames its earliest chunk so far beat the first one's pace, by the clock
    measured: bool = False  # its slack tells the delivery lateness (streamed, undisturbed)
    worst: float | None = None  # worst lateness seen, frames
    dry_since: int = 0
    first_dry: int | None = None
    silent: int = 0  # frames of silence inside it (completed dry spells)

    def arrived(self, now: float, frames: int, sample_rate: int) -> None:
        """A write of ``frames`` came at ``now`` (the feed's clock, s): track the
        chunk that came earliest for its place in the audio.

        The slack measured at each write counts lateness from the *first*
        chunk's pace; when the first was itself late (a random draw like any
        other), a later chunk as late finds slack to spare and the hold-back
        learned would be too small for the next message, whose first chunk may
        be on time. Counting from the earliest chunk before it (the largest
        rise in lateness, not the spread: a producer faster than real time only
        ever gets earlier, and teaches nothing) removes that luck. By the
        clock, not the device: a stalled device must not make chunks look early.
        """
        if self.first_clock is None:
            self.first_clock = now
        else:
            elapsed = (now - self.first_clock) * sample_rate
            self.ahead = max(self.ahead, self.written - elapsed)
        self.written += frames


@dataclass(slots=True)
class Envelope:
    """A gain ramp applied to segment frames as they are pulled."""

    start_gain: float
    end_gain: float
    length_frames: int
    done_frames: int = 0

    def gain(self) -> float:
        """Gain reached so far (the gain the next ramp should start from)."""
        if self.length_frames <= 0:
            return self.end_gain
        k = min(self.done_frames, self.length_frames)
        return self.start_gain + (self.end_gain - self.start_gain) * k / self.length_frames
