"""The feed's device side: what one pull renders, frame by frame.

Apart from :mod:`.feed` because it is the part that runs on the device thread
in real time (the gap, the streaming hold-back, dry spells and their fades,
the ``low`` and end reports); the feed's public methods only change the state
this reads. Every method here runs with the feed's lock held, but `peek`,
which takes it: a look at what the coming pulls will render.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from streamer_tts.audio.pcm import fade_in_place
from streamer_tts.audio.segment import (
    CUT,
    FINISHED,
    LOW,
    STARTED,
    UNDERRUN,
    Envelope,
    FeedEvent,
    FeedEventKind,
    Segment,
)

if TYPE_CHECKING:
    import threading
    from collections import deque

    from streamer_tts.audio.jitter import JitterEstimate

__all__ = ["FeedMachine"]


class FeedMachine:
    """The pull-side state machine; :class:`~streamer_tts.audio.feed.Feed` sets the state."""

    _bpf: int
    _gap_frames: int
    _ramp_frames: int
    _low_frames: int
    _ample_frames: int
    jitter: JitterEstimate
    _segments: deque[Segment]
    _cutting: Segment | None
    _envelope: Envelope | None
    _pause_tail: bytearray
    _paused: bool
    _frames_pulled: int
    _last_audio_end: int | None
    _pending: list[FeedEvent]
    _zeros: memoryview
    _lock: threading.Lock
    _lost: bool

    # ---- looking ahead (takes the lock) -------------------------------------

    def peek(self, skip_frames: int, max_frames: int) -> bytes:
        """A copy of the sounding segment's audio from ``skip_frames`` past the
        pull position, at most ``max_frames``; empty unless what pulls return
        there is plain audio (no fade under way, no cut, no pause, not lost).

        For an output that writes ahead of the speaker what it expects the
        coming pulls to return, and checks them against it (:mod:`.pulse_output`):
        nothing here changes the feed.
        """
        with self._lock:
            if (
                self._paused
                or self._pause_tail
                or self._cutting is not None
                or self._lost
                or self._envelope is not None
            ):
                return b""
            head = self._head_started()
            if head is None or head.starving:
                return b""
            avail = len(head.buf) // self._bpf - self._ramp_frames  # the dry fade's
            n = min(max_frames, avail - skip_frames)
            if n <= 0:
                return b""
            start = skip_frames * self._bpf
            return bytes(head.buf[start : start + n * self._bpf])

    # ---- lookups (lock held), shared with the control side ----------------

    def _find(self, message_id: str) -> Segment | None:
        for seg in self._segments:
            if seg.message_id == message_id:
                return seg
        return None

    def _head_started(self) -> Segment | None:
        if self._segments and self._segments[0].started:
            return self._segments[0]
        return None

    def _take_pending(self) -> list[FeedEvent]:
        events = self._pending
        if events:
            self._pending = []
        return events

    def _end_segment(self, seg: Segment, kind: FeedEventKind, frame: int) -> None:
        """Report a segment's end (its underrun first) and learn from its delivery."""
        if seg.silent:
            self._pending.append(
                FeedEvent(UNDERRUN, seg.message_id, seg.first_dry or 0, seg.silent)
            )
        self.jitter.segment_done(seg.worst if seg.measured else None)
        self._pending.append(FeedEvent(kind, seg.message_id, frame))

    def _copy(self, out: memoryview, at: int, seg: Segment, n: int, *, dry: bool) -> None:
        """Move ``n`` frames of ``seg`` to ``out`` at byte ``at``, through the envelope;
        ``dry``: these are its last frames for now, so fade them out."""
        nbytes = n * self._bpf
        src = memoryview(seg.buf)
        out[at : at + nbytes] = src[:nbytes]
        src.release()  # (a live view would forbid resizing the buffer)
        del seg.buf[:nbytes]
        env = self._envelope
        if env is None and not dry:
            return
        samples = np.frombuffer(out[at : at + nbytes], dtype="<i2")
        if env is not None:
            fade_in_place(
                samples,
                env.start_gain,
                env.end_gain,
                offset_frames=env.done_frames,
                length_frames=env.length_frames,
            )
            env.done_frames += n
            if env.done_frames >= env.length_frames and env.end_gain == 1.0:
                self._envelope = None
        if dry and self._ramp_frames > 0:
            tail = min(n, self._ramp_frames)
            # ends one step above zero: every written frame stays audible
            fade_in_place(samples[n - tail :], 1.0, 0.0, length_frames=tail + 1)

    def _silence(self, out: memoryview, at: int, n: int) -> None:
        if n > 0:
            nbytes = n * self._bpf
            out[at : at + nbytes] = self._zeros[:nbytes]

    def _grow_zeros(self, nbytes: int) -> None:
        if len(self._zeros) < nbytes:
            self._zeros = memoryview(bytes(nbytes))

    def _fill(self, out: memoryview, frames: int) -> None:
        """The whole playback state machine: produce ``frames`` frames into ``out``."""
        bpf = self._bpf
        events = self._pending
        pos = self._frames_pulled
        end = pos + frames
        at = 0  # byte offset in out
        while pos < end:
            need = end - pos
            if self._pause_tail:
                nbytes = min(need * bpf, len(self._pause_tail))
                out[at : at + nbytes] = self._pause_tail[:nbytes]
                del self._pause_tail[:nbytes]
                at += nbytes
                pos += nbytes // bpf
                self._last_audio_end = pos
                continue
            cutting = self._cutting
            if cutting is not None:
                avail = len(cutting.buf) // bpf
                if avail:
                    n = min(need, avail)
                    self._copy(out, at, cutting, n, dry=False)
                    at += n * bpf
                    pos += n
                    self._last_audio_end = pos
                    continue
                self._end_segment(cutting, CUT, pos)
                self._cutting = None
                self._envelope = None
                continue
            if self._paused or not self._segments:
                break
            head = self._segments[0]
            avail = len(head.buf) // bpf
            if not head.started:
                wait = self._start_wait(head, avail, pos)
                if wait is None:
                    break  # nothing written yet: waiting, not an underrun
                if wait > 0:
                    n = min(need, wait)
                    self._silence(out, at, n)
                    at += n * bpf
                    pos += n
                    continue
                head.started = True
                head.measured = not head.ended
                if head.first_write is not None:
                    head.delay = pos - head.first_write
                self._envelope = None
                events.append(FeedEvent(STARTED, head.message_id, pos))
            if avail:
                if head.starving:  # audio back after a dry spell
                    self._recover(head, pos)
                n = min(need, avail)
                self._copy(out, at, head, n, dry=n < need and not head.ended)
                at += n * bpf
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
                self._end_segment(head, FINISHED, done_at)
                self._segments.popleft()
                self._envelope = None
                continue
            if not head.starving:
                head.starving = True
                head.dry_since = pos
                if head.first_dry is None:
                    head.first_dry = pos
            break
        self._silence(out, at, end - pos)
        self._frames_pulled = end

    def _start_wait(self, head: Segment, avail: int, pos: int) -> int | None:
        """Frames before ``head`` may start: the gap, then the streaming hold-back.

        None while it has no audio and is not ended (no time counts then).
        """
        if self._last_audio_end is not None:
            wait = self._last_audio_end + self._gap_frames - pos
            if wait > 0:
                return wait
        if head.ended:
            return 0
        if avail == 0:
            return None
        target = self.jitter.target_frames
        if avail >= target + self._ample_frames or head.first_write is None:
            return 0
        return max(0, head.first_write + target - pos)

    def _recover(self, head: Segment, pos: int) -> None:
        """A dry spell ended: count its silence, learn its lateness, fade back in."""
        spell = pos - head.dry_since
        head.silent += spell
        if head.measured:
            late = head.delay + spell + head.ahead
            head.worst = late if head.worst is None else max(head.worst, late)
            self.jitter.observe(late)
        head.delay += spell
        head.starving = False
        if self._ramp_frames > 0:
            self._envelope = Envelope(0.0, 1.0, self._ramp_frames)
