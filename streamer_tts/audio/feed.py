"""The real-time feed between the player and the output device.

The player (an asyncio task) decides *what* plays and writes it here as
segments, one per message; the output's device thread *pulls* exactly as many
frames as the device wants, when it wants them. Every decision that must land
on the speaker quickly (cut, pause, the gap between messages) is applied inside
:meth:`Feed.pull`, so it takes effect on the very next device buffer instead of
after audio already handed to the device has drained.

Segments play strictly one after another: at most one is ever sounding, so two
voices can never overlap. Between two segments the feed inserts silence so that
exactly ``gap_ms`` separate the last audible frame of one from the first frame
of the next; idle time already output counts toward the gap.

A segment still being written (a streamed voice) starts only once it has held
audio for the delivery lateness seen so far (:mod:`.jitter`), so a chunk a few
ms late finds audio still buffered instead of an empty device; a segment
already complete, or holding plenty, starts at once. A dry spell that still
happens fades out and back in over ``ramp_ms`` and is reported once, as an
``underrun`` with its length, when the segment ends.

Thread-safe with one lock; no asyncio here. Events go to ``on_event`` from the
pulling thread, outside the lock (forward them with ``call_soon_threadsafe``).
The pull path (:mod:`.feedmachine`) fills one reused buffer: per device buffer
it allocates only the bytes handed back (PyAudio takes nothing else) and a
transient view; an events list only when something happened. ~1.4 us per 256 frames here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Final

from streamer_tts.audio.feedmachine import FeedMachine
from streamer_tts.audio.jitter import JitterEstimate
from streamer_tts.audio.pcm import PcmFormat, fade
from streamer_tts.audio.segment import (
    CUT,
    FINISHED,
    LOST,
    LOW,
    STARTED,
    UNDERRUN,
    Envelope,
    FeedError,
    FeedEvent,
    FeedEventKind,
    Segment,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "CUT",
    "FINISHED",
    "LOST",
    "LOW",
    "MAX_SEGMENTS",
    "MAX_SEGMENT_SECONDS",
    "STARTED",
    "UNDERRUN",
    "Feed",
    "FeedError",
    "FeedEvent",
    "FeedEventKind",
]

log = logging.getLogger(__name__)

MAX_SEGMENT_SECONDS: Final = 600
"""Most audio one segment may hold unplayed: 10 minutes, far above any sane
message (config caps those by duration) yet bounded (44100 Hz mono ~ 53 MB)."""
MAX_SEGMENTS: Final = 32
"""Most segments queued at once. The player hands over one or two messages
ahead; more means a bug upstream, so refuse instead of growing."""
AMPLE_MS: Final = 100
"""A streamed segment holding this much more than the hold-back starts at once:
its producer is clearly ahead of real time (Piper writes whole sentences)."""


class Feed(FeedMachine):
    """Ordered segments of PCM, pulled one at a time by a real-time output.

    Parameters
    ----------
    fmt:
        Format of everything written and pulled (mono s16le).
    gap_ms:
        Silence between the end of one segment and the start of the next.
    ramp_ms:
        Length of the fade applied on cut, pause, resume and around a dry spell.
    low_water_ms:
        A ``"low"`` event fires once the sounding segment is ended and less
        than this much of it remains, so the player can hand over the next
        message in time for an exact gap.
    max_preroll_ms:
        Most a streamed segment is held back before it starts (0: never).
    on_event:
        Called with each :class:`FeedEvent`, from the pulling thread.
    clock:
        Seconds, monotonic: what the producer's pace is measured against.
    """

    def __init__(
        self,
        fmt: PcmFormat,
        *,
        gap_ms: int,
        ramp_ms: float = 5.0,
        low_water_ms: int = 200,
        max_preroll_ms: float = 120,
        on_event: Callable[[FeedEvent], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if fmt.channels != 1:
            raise ValueError("the feed is mono only")
        if gap_ms < 0 or ramp_ms < 0 or low_water_ms < 0 or max_preroll_ms < 0:
            raise ValueError(
                "gap_ms, ramp_ms, low_water_ms and max_preroll_ms must not be negative"
            )
        self.fmt = fmt
        self.gap_ms = gap_ms
        self.ramp_ms = ramp_ms
        self.low_water_ms = low_water_ms
        self._on_event = on_event
        self._clock = clock
        self._bpf = fmt.bytes_per_frame
        self._gap_frames = fmt.frames_for_ms(gap_ms)
        self._ramp_frames = fmt.frames_for_ms(ramp_ms)
        self._low_frames = fmt.frames_for_ms(low_water_ms)
        self._ample_frames = fmt.frames_for_ms(AMPLE_MS)
        self._max_segment_bytes = fmt.nbytes(MAX_SEGMENT_SECONDS * fmt.sample_rate)
        self.jitter = JitterEstimate(fmt.sample_rate, max_ms=max_preroll_ms)
        self._lock = threading.Lock()
        self._segments: deque[Segment] = deque()
        self._cutting: Segment | None = None
        self._envelope: Envelope | None = None
        self._pause_tail = bytearray()
        self._paused = False
        self._lost = False
        self._frames_pulled = 0
        self._last_audio_end: int | None = None
        self._pending: list[FeedEvent] = []  # events of this call, emitted outside the lock
        self._out = bytearray()  # pull()'s reusable output buffer
        self._out_view = memoryview(self._out)
        self._zeros = memoryview(b"")  # silence to copy from, as long as the longest pull
        self.on_cut: Callable[[], None] | None = None
        """Called (outside the lock) when a sounding segment is cut: an output that
        wrote audio ahead of the speaker takes it back (:mod:`.pulse_output`)."""

    # ---- producer side -------------------------------------------------

    def begin(self, message_id: str) -> None:
        """Queue a new, empty segment after the existing ones.

        Raises :class:`FeedError` if the id is already in the feed or
        :data:`MAX_SEGMENTS` are queued.
        """
        with self._lock:
            if self._find(message_id) is not None or (
                self._cutting is not None and self._cutting.message_id == message_id
            ):
                raise FeedError(f"segment {message_id!r} is already in the feed")
            if len(self._segments) >= MAX_SEGMENTS:
                raise FeedError(f"more than {MAX_SEGMENTS} segments queued")
            self._segments.append(Segment(message_id))

    def write(self, message_id: str, pcm: bytes) -> bool:
        """Append audio to a segment.

        Returns False when the producer should stop: the segment is gone (cut)
        or would hold more than :data:`MAX_SEGMENT_SECONDS` unplayed (the
        chunk is then dropped whole).
        """
        now = self._clock()  # (outside the lock: the clock is anyone's code)
        with self._lock:
            seg = self._find(message_id)
            if seg is None:
                return False
            if seg.ended:
                raise FeedError(f"write after end of segment {message_id!r}")
            if len(seg.buf) + len(pcm) > self._max_segment_bytes:
                return False
            if pcm:
                if seg.first_write is None:
                    seg.first_write = self._frames_pulled
                seg.arrived(now, len(pcm) // self._bpf, self.fmt.sample_rate)
            if seg.measured and not seg.starving and not self._paused:
                # slack left when this chunk came: the lateness it had to ride
                # out, counted from the earliest chunk's pace (Segment.arrived)
                late = seg.delay - len(seg.buf) // self._bpf + seg.ahead
                if seg.worst is None or late > seg.worst:
                    seg.worst = late
                    self.jitter.observe(late)
            seg.buf += pcm
            return True

    def end(self, message_id: str) -> bool:
        """Mark a segment complete; False if it is no longer in the feed."""
        with self._lock:
            seg = self._find(message_id)
            if seg is None:
                return False
            seg.ended = True
            return True

    # ---- control -------------------------------------------------------

    def cut(self, message_id: str) -> bool:
        """Stop a segment: fade it out if sounding, drop it if only queued.

        A sounding segment fades over ``ramp_ms`` from the next pull on, then a
        ``"cut"`` event fires (at once while the device is lost: nothing is
        heard then); a queued one is removed silently. Returns whether
        anything was removed.
        """
        with self._lock:
            seg = self._find(message_id)
            if seg is None:
                return False
            sounding = seg.started
            if sounding:
                self._start_cut(seg)
            else:
                self._segments.remove(seg)
            events = self._take_pending()
        self._emit_all(events)
        if sounding and self.on_cut is not None:
            self.on_cut()
        return True

    def cut_all(self) -> bool:
        """Cut the sounding segment and drop every queued one."""
        with self._lock:
            if not self._segments:
                return False
            head = self._segments[0]
            sounding = head.started
            if sounding:
                self._start_cut(head)
            self._segments.clear()
            events = self._take_pending()
        self._emit_all(events)
        if sounding and self.on_cut is not None:
            self.on_cut()
        return True

    def pause(self) -> None:
        """Fade out over ``ramp_ms`` and hold the position until :meth:`resume`.

        The faded frames are copies: resume replays them from the held position.
        """
        with self._lock:
            if self._paused:
                return
            self._paused = True
            head = self._head_started()
            if head is None:
                return  # nothing sounding (or a cut fade that must finish as is)
            head.measured = False  # its slack no longer says anything about delivery
            if self._ramp_frames > 0:
                peek = bytes(head.buf[: self._ramp_frames * self._bpf])
                gain = self._envelope.gain() if self._envelope else 1.0
                self._pause_tail = bytearray(
                    fade(peek, self.fmt, gain, 0.0, length_frames=self._ramp_frames)
                )
            self._envelope = None

    def resume(self) -> None:
        """Continue from the held position with a ``ramp_ms`` fade-in."""
        with self._lock:
            if not self._paused:
                return
            self._paused = False
            if self._head_started() is not None and self._ramp_frames > 0:
                self._envelope = Envelope(0.0, 1.0, self._ramp_frames)

    def device_lost(self) -> None:
        """The output lost its device: report the sounding segment as ``lost``.

        Nothing is pulled until the device is back, so queued audio waits;
        the sounding segment then carries on with a fade-in. While lost, a cut
        completes at once. Called by the output, from its own thread.
        """
        with self._lock:
            if self._lost:
                return
            self._lost = True
            head = self._head_started()
            if head is not None:
                head.measured = False
                self._pending.append(FeedEvent(LOST, head.message_id, self._frames_pulled))
                if self._ramp_frames > 0:
                    self._envelope = Envelope(0.0, 1.0, self._ramp_frames)
            events = self._take_pending()
        self._emit_all(events)

    def device_restored(self) -> None:
        """The output pulls again (see :meth:`device_lost`)."""
        with self._lock:
            self._lost = False

    # ---- device side ---------------------------------------------------

    def pull(self, frames: int) -> bytes:
        """Return exactly ``frames`` frames for the device (silence where idle).

        Called from the device thread; holds the lock only for buffer copies.
        """
        if frames < 0:
            raise ValueError("frames must not be negative")
        nbytes = frames * self._bpf
        with self._lock:
            if len(self._out) != nbytes:  # devices ask the same size every time
                self._out = bytearray(nbytes)
                self._out_view = memoryview(self._out)
                self._grow_zeros(nbytes)
            self._fill(self._out_view, frames)
            data = bytes(self._out)
            events = self._take_pending()
        if events:
            self._emit_all(events)
        return data

    # ---- observation ---------------------------------------------------

    @property
    def frames_pulled(self) -> int:
        """Total frames handed to the output since the feed was created."""
        with self._lock:
            return self._frames_pulled

    @property
    def sounding(self) -> str | None:
        """Id of the segment being heard (including its cut fade, and while paused)."""
        with self._lock:
            if self._cutting is not None:
                return self._cutting.message_id
            head = self._head_started()
            return head.message_id if head else None

    @property
    def paused(self) -> bool:
        with self._lock:
            return self._paused

    @property
    def queued(self) -> tuple[str, ...]:
        """Ids of all segments still to be (or being) played, in order."""
        with self._lock:
            return tuple(s.message_id for s in self._segments)

    def buffered_frames(self, message_id: str) -> int:
        """Frames written to a segment and not pulled yet (0 if unknown)."""
        with self._lock:
            seg = self._find(message_id)
            return len(seg.buf) // self._bpf if seg else 0

    @property
    def preroll_frames(self) -> int:
        """Frames a streamed segment is held back now (follows delivery lateness)."""
        with self._lock:
            return self.jitter.target_frames

    # ---- internals (lock held) -----------------------------------------

    def _start_cut(self, seg: Segment) -> None:
        """Move the sounding segment to the fade-out slot, keeping one ramp of it."""
        self._segments.remove(seg)
        seg.ended = True
        if self._paused or self._pause_tail or self._ramp_frames == 0 or self._lost:
            seg.buf.clear()  # already silent, or fading via the pause tail
        else:
            del seg.buf[self._ramp_frames * self._bpf :]
            gain = self._envelope.gain() if self._envelope else 1.0
            self._envelope = Envelope(gain, 0.0, self._ramp_frames)
        self._cutting = seg
        if self._lost:  # nothing to fade at a lost device: done now
            self._end_segment(seg, CUT, self._frames_pulled)
            self._cutting = None
            self._envelope = None

    def _emit_all(self, events: list[FeedEvent]) -> None:
        for event in events:
            self._emit(event)

    def _emit(self, event: FeedEvent) -> None:
        """Deliver one event; a failing handler must not silence the device."""
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("feed event handler failed on %s", event)
