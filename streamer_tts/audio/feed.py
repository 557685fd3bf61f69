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

Thread-safe with one lock; no asyncio here. Events go to ``on_event`` from the
pulling thread, outside the lock (forward them with ``call_soon_threadsafe``).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

from streamer_tts.audio.pcm import PcmFormat, fade

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "CUT",
    "FINISHED",
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

FeedEventKind = Literal["started", "finished", "cut", "underrun", "low"]
STARTED: Final = "started"
FINISHED: Final = "finished"
CUT: Final = "cut"
UNDERRUN: Final = "underrun"
LOW: Final = "low"

MAX_SEGMENT_SECONDS: Final = 600
"""Most audio one segment may hold unplayed: 10 minutes, far above any sane
message (config caps those by duration) yet bounded (44100 Hz mono ~ 53 MB)."""
MAX_SEGMENTS: Final = 32
"""Most segments queued at once. The player hands over one or two messages
ahead; more means a bug upstream, so refuse instead of growing."""


class FeedError(Exception):
    """Misuse of the feed by its producer (our bug, not the listener's)."""


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """Something that happened at the device side of the feed.

    ``started``: first frame of a segment pulled. ``finished``: last frame of
    an ended segment pulled (always preceded by ``low``). ``cut``: fade after
    a cut complete (not sent for segments cut before they started).
    ``underrun``: a started, not ended segment ran dry (once per dry spell).
    ``low``: the sounding segment is ended and under ``low_water_ms`` remain.
    """

    kind: FeedEventKind
    message_id: str
    frame: int
    """:attr:`Feed.frames_pulled` at that instant (for ``finished``: just after
    the segment's last frame, even if the end was only known later)."""


@dataclass(slots=True)
class _Segment:
    message_id: str
    buf: bytearray = field(default_factory=bytearray)
    audio_end: int | None = None  # frame just after its last pulled frame
    ended: bool = False
    started: bool = False
    low_sent: bool = False
    starving: bool = False


@dataclass(slots=True)
class _Envelope:
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


class Feed:
    """Ordered segments of PCM, pulled one at a time by a real-time output.

    Parameters
    ----------
    fmt:
        Format of everything written and pulled (mono s16le).
    gap_ms:
        Silence between the end of one segment and the start of the next.
    ramp_ms:
        Length of the fade applied on cut, pause and resume.
    low_water_ms:
        A ``"low"`` event fires once the sounding segment is ended and less
        than this much of it remains, so the player can hand over the next
        message in time for an exact gap.
    on_event:
        Called with each :class:`FeedEvent`, from the pulling thread.
    """

    def __init__(
        self,
        fmt: PcmFormat,
        *,
        gap_ms: int,
        ramp_ms: float = 5.0,
        low_water_ms: int = 200,
        on_event: Callable[[FeedEvent], None] | None = None,
    ) -> None:
        if fmt.channels != 1:
            raise ValueError("the feed is mono only")
        if gap_ms < 0 or ramp_ms < 0 or low_water_ms < 0:
            raise ValueError("gap_ms, ramp_ms and low_water_ms must not be negative")
        self.fmt = fmt
        self.gap_ms = gap_ms
        self.ramp_ms = ramp_ms
        self.low_water_ms = low_water_ms
        self._on_event = on_event
        self._bpf = fmt.bytes_per_frame
        self._gap_frames = fmt.frames_for_ms(gap_ms)
        self._ramp_frames = fmt.frames_for_ms(ramp_ms)
        self._low_frames = fmt.frames_for_ms(low_water_ms)
        self._max_segment_bytes = fmt.nbytes(MAX_SEGMENT_SECONDS * fmt.sample_rate)
        self._lock = threading.Lock()
        self._segments: deque[_Segment] = deque()
        self._cutting: _Segment | None = None
        self._envelope: _Envelope | None = None
        self._pause_tail = bytearray()
        self._paused = False
        self._frames_pulled = 0
        self._last_audio_end: int | None = None

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
            self._segments.append(_Segment(message_id))

    def write(self, message_id: str, pcm: bytes) -> bool:
        """Append audio to a segment.

        Returns False when the producer should stop: the segment is gone (cut)
        or would hold more than :data:`MAX_SEGMENT_SECONDS` unplayed (the
        chunk is then dropped whole).
        """
        with self._lock:
            seg = self._find(message_id)
            if seg is None:
                return False
            if seg.ended:
                raise FeedError(f"write after end of segment {message_id!r}")
            if len(seg.buf) + len(pcm) > self._max_segment_bytes:
                return False
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
        ``"cut"`` event fires; a queued one is removed silently. Returns whether
        anything was removed.
        """
        with self._lock:
            seg = self._find(message_id)
            if seg is None:
                return False
            if seg.started:
                self._start_cut(seg)
            else:
                self._segments.remove(seg)
            return True

    def cut_all(self) -> bool:
        """Cut the sounding segment and drop every queued one."""
        with self._lock:
            if not self._segments:
                return False
            head = self._segments[0]
            if head.started:
                self._start_cut(head)
            self._segments.clear()
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
                self._envelope = _Envelope(0.0, 1.0, self._ramp_frames)

    # ---- device side ---------------------------------------------------

    def pull(self, frames: int) -> bytes:
        """Return exactly ``frames`` frames for the device (silence where idle).

        Called from the device thread; holds the lock only for buffer copies.
        """
        if frames < 0:
            raise ValueError("frames must not be negative")
        events: list[FeedEvent] = []
        with self._lock:
            out = self._fill(frames, events)
        for event in events:
            self._emit(event)
        return out

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

    # ---- internals (lock held) -----------------------------------------

    def _find(self, message_id: str) -> _Segment | None:
        for seg in self._segments:
            if seg.message_id == message_id:
                return seg
        return None

    def _head_started(self) -> _Segment | None:
        if self._segments and self._segments[0].started:
            return self._segments[0]
        return None

    def _start_cut(self, seg: _Segment) -> None:
        """Move the sounding segment to the fade-out slot, keeping one ramp of it."""
        self._segments.remove(seg)
        seg.ended = True
        if self._paused or self._pause_tail or self._ramp_frames == 0:
            seg.buf.clear()  # already silent, or fading via the pause tail
        else:
            del seg.buf[self._ramp_frames * self._bpf :]
            gain = self._envelope.gain() if self._envelope else 1.0
            self._envelope = _Envelope(gain, 0.0, self._ramp_frames)
        self._cutting = seg

    def _take(self, seg: _Segment, n: int) -> bytes:
        """Consume ``n`` frames of ``seg``, applying the current envelope."""
        nbytes = n * self._bpf
        chunk = bytes(seg.buf[:nbytes])
        del seg.buf[:nbytes]
        env = self._envelope
        if env is not None:
            chunk = fade(
                chunk,
                self.fmt,
                env.start_gain,
                env.end_gain,
                offset_frames=env.done_frames,
                length_frames=env.length_frames,
            )
            env.done_frames += n
            if env.done_frames >= env.length_frames and env.end_gain == 1.0:
                self._envelope = None
        return chunk

    def _fill(self, frames: int, events: list[FeedEvent]) -> bytes:
        """The whole playback state machine: produce ``frames`` frames."""
        bpf = self._bpf
        out = bytearray()
        pos = self._frames_pulled
        end = pos + frames
        while pos < end:
            need = end - pos
            if self._pause_tail:
                nbytes = min(need * bpf, len(self._pause_tail))
                out += self._pause_tail[:nbytes]
                del self._pause_tail[:nbytes]
                pos += nbytes // bpf
                self._last_audio_end = pos
                continue
            cutting = self._cutting
            if cutting is not None:
                avail = len(cutting.buf) // bpf
                if avail:
                    n = min(need, avail)
                    out += self._take(cutting, n)
                    pos += n
                    self._last_audio_end = pos
                    continue
                events.append(FeedEvent(CUT, cutting.message_id, pos))
                self._cutting = None
                self._envelope = None
                continue
            if self._paused or not self._segments:
                break
            head = self._segments[0]
            avail = len(head.buf) // bpf
            if not head.started:
                if self._last_audio_end is not None:
                    wait = self._last_audio_end + self._gap_frames - pos
                    if wait > 0:
                        n = min(need, wait)
                        out += bytes(n * bpf)
                        pos += n
                        continue
                if avail == 0 and not head.ended:
                    break  # nothing written yet: waiting, not an underrun
                head.started = True
                self._envelope = None
                events.append(FeedEvent(STARTED, head.message_id, pos))
            if avail:
                n = min(need, avail)
                out += self._take(head, n)
                head.starving = False
                if head.ended and not head.low_sent and avail - n < self._low_frames:
                    crossed = pos + max(0, avail - self._low_frames + 1)
                    events.append(FeedEvent(LOW, head.message_id, crossed))
                    head.low_sent = True
                pos += n
                self._last_audio_end = head.audio_end = pos
                continue
            if head.ended:
                done_at = pos if head.audio_end is None else head.audio_end
                if not head.low_sent:
                    events.append(FeedEvent(LOW, head.message_id, done_at))
                events.append(FeedEvent(FINISHED, head.message_id, done_at))
                self._segments.popleft()
                self._envelope = None
                continue
            if not head.starving:
                head.starving = True
                events.append(FeedEvent(UNDERRUN, head.message_id, pos))
            break
        out += bytes((end - pos) * bpf)
        self._frames_pulled = end
        return bytes(out)

    def _emit(self, event: FeedEvent) -> None:
        """Deliver one event; a failing handler must not silence the device."""
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("feed event handler failed on %s", event)
