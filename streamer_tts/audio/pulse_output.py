"""The sound-server output: a PulseAudio (or PipeWire) stream written ahead.

A device that holds ~17 ms runs dry whenever the machine holds the player
back longer than that (a virtual machine's host does, for 20 to 50 ms at a
time; see bench/machine.py). A longer device buffer rides that out but
delays every skip and every first sound by as much. This output keeps both:

- It pulls from the feed exactly as a device would, ``2 x frames_per_buffer``
  ahead of where the server reads, so every decision (cut, pause, gap, the
  hold-back) lands where it does on any other output.
- Beyond that it writes *copies* of the sounding message's audio up to
  ``lead_ms`` further (:meth:`Feed.peek`): what the coming pulls will return
  if nothing changes. The server plays them if the player is held back.
- Each pull is checked against what was written ahead for its place. When
  they differ (a cut's fade, a pause, a dry spell), the stream is spliced:
  flushed and written again from where the server reads, so the speaker
  hears what the feed decided, one flush round trip (~2 ms) later.

The writer is one thread of ours, the stream's sole owner; libpulse's
mainloop thread only carries the protocol. When the server goes away the
output reports ``audio.lost`` and reconnects with backoff, as the device
output does.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Final

from streamer_tts.audio.devices import FRAMES_PER_BUFFER, OutputError
from streamer_tts.audio.health import DeviceHealth
from streamer_tts.audio.libpulse import PulseError, PulseStream
from streamer_tts.audio.realtime import boost_this_thread, tune_threads

if TYPE_CHECKING:
    from streamer_tts.audio.feed import Feed

__all__ = ["LEAD_MS", "PulseOutput"]

log = logging.getLogger(__name__)

LEAD_MS: Final = 150.0
"""Most audio written ahead of the speaker: rides out a machine held this long."""
POLL_S: Final = 0.002
"""The writer looks at the server this often (a cut wakes it at once)."""
QUANTA_PER_BUFFER: Final = 4
"""Pulls are this fraction of ``frames_per_buffer``, always the same size."""
KEEP_MS: Final = 50.0
"""Audio kept behind the server's read point, to write again after a flush."""
SPLICE_TIMEOUT_S: Final = 1.0
DRAIN_S: Final = 0.3
"""Closing waits at most this long for what the feed already gave to be heard."""
STALL_S: Final = 1.0
"""The server taking nothing for this long (stopped, hung) means the output is lost."""


class PulseOutput(DeviceHealth):
    """Plays the feed on a PulseAudio/PipeWire sink, writing ahead (module doc)."""

    def __init__(
        self,
        feed: Feed,
        *,
        sink: str | None = None,
        server: str | None = None,
        frames_per_buffer: int = FRAMES_PER_BUFFER,
        lead_ms: float = LEAD_MS,
        wait_for_device: bool = False,
    ) -> None:
        super().__init__()
        self._feed = feed
        self._sink = sink
        self._server = server
        self.wait_for_device = wait_for_device
        bpf = feed.fmt.bytes_per_frame
        self._bpf = bpf
        self._quantum = max(1, frames_per_buffer // QUANTA_PER_BUFFER)
        self._base = 2 * frames_per_buffer * bpf
        self._lead = self._base + feed.fmt.nbytes(feed.fmt.frames_for_ms(lead_ms))
        self._keep = feed.fmt.nbytes(feed.fmt.frames_for_ms(KEEP_MS))
        self.latency_s = 2 * frames_per_buffer / feed.fmt.sample_rate
        self._stream: PulseStream | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        # stream byte positions: pulled by the feed up to `_pulled`, written up to
        # `_written` (copies ahead beyond `_pulled`); `_ring` holds what was
        # written from `_ring_at` on
        self._pulled = 0
        self._written = 0
        self._ring = bytearray()
        self._ring_at = 0
        self._underflows_before = 0
        self._last_reading, self._moved_at = -1, 0.0
        self.splices = 0
        """Times the stream was flushed and written again (a cut, a pause, a dry spell)."""
        self.reopens = 0
        self.scheduling = ""

    @property
    def name(self) -> str:
        return f"pulse:{self._sink or 'default'}"

    @property
    def underflows(self) -> int:
        """Times the server ran out of audio from this output."""
        stream = self._stream
        return self._underflows_before + (stream.underflows if stream else 0)

    # ---- starting and stopping ------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._bind_loop()
        if self._open_first():
            log.info("output %s started, lead %.0f ms", self.name, self._lead / self._bytes_per_ms)
        self._feed.on_cut = self._wake.set
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="output-pulse", daemon=True)
        self._thread.start()

    @property
    def _bytes_per_ms(self) -> float:
        return self._feed.fmt.sample_rate * self._bpf / 1000

    def _open(self) -> None:
        stream = PulseStream(
            rate=self._feed.fmt.sample_rate,
            buffer_ms=self._lead / self._bytes_per_ms,
            start_ms=self._quantum * self._bpf / self._bytes_per_ms,
            request_ms=self._base / 4 / self._bytes_per_ms,  # half a device period
            server=self._server,
            sink=self._sink,
        )
        try:
            stream.open()
        except PulseError as exc:
            raise OutputError(f"cannot open output {self.name}: {exc}") from exc
        self._pulled = self._written = self._ring_at = 0
        self._ring.clear()
        self._last_reading, self._moved_at = -1, time.monotonic()
        self._stream = stream
        tune_threads()

    def close(self) -> None:
        self._drain()
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._feed.on_cut = None
        self._release()

    def _drain(self) -> None:
        """Let the server play what the feed already handed over (a message's last
        words, ~20 ms) before the stream goes; copies written ahead are not waited for."""
        if self._thread is None or self._stream is None:
            return
        until, deadline = self._pulled, time.monotonic() + DRAIN_S
        while self._last_reading < until and time.monotonic() < deadline and self.healthy:
            time.sleep(0.005)

    def _release(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            self._underflows_before += stream.underflows
            stream.close()

    # ---- the writer ------------------------------------------------------------

    def _run(self) -> None:
        self.scheduling = boost_this_thread()
        while not self._stop.is_set():
            if self._stream is None:
                self._reopen_when_due()
            else:
                try:
                    self._step(self._stream)
                except PulseError as exc:
                    self._lose(str(exc))
                except Exception as exc:  # our bug: loud, then start afresh
                    log.exception("output %s failed", self.name)
                    self._lose(f"output failed: {exc.__class__.__name__}: {exc}")
            self._wake.wait(POLL_S)
            self._wake.clear()

    def _step(self, stream: PulseStream) -> None:
        """Pull what the speaker will need next, then write copies ahead."""
        with stream.locked():
            problem = stream.problem()
            if problem is not None:
                raise PulseError(problem)
            writable = stream.writable()
            held = stream.buffer_bytes - writable
        reading = self._written - held  # where the server takes from now
        now = time.monotonic()
        if reading != self._last_reading:
            self._last_reading, self._moved_at = reading, now
        elif now - self._moved_at > STALL_S:
            raise PulseError(f"the sound server took no audio for {now - self._moved_at:.1f} s")
        quantum = self._quantum * self._bpf
        before = self._written
        while self._pulled - reading < self._base and not self._stop.is_set():
            self._settle(stream, self._feed.pull(self._quantum))  # (a held player catches up)
        room = min(reading + self._lead - self._written, writable - (self._written - before))
        if room >= quantum:
            skip = (self._written - self._pulled) // self._bpf
            ahead = self._feed.peek(skip, room // self._bpf)
            if ahead:
                with stream.locked():
                    stream.write(ahead)
                self._keep_written(ahead)
        self._trim(reading)

    def _settle(self, stream: PulseStream, data: bytes) -> None:
        """Place one pull at `_pulled`: already written ahead as is, or write it."""
        start, n = self._pulled, len(data)
        ahead = self._written - start
        if ahead > 0:
            same = min(n, ahead)
            at = start - self._ring_at
            if self._ring[at : at + same] != data[:same]:
                self._splice(stream, start, data)
                return
            data = data[same:]
        self._pulled = start + n
        if data:
            with stream.locked():
                stream.write(data)
            self._keep_written(data)

    def _splice(self, stream: PulseStream, start: int, data: bytes) -> None:
        """The feed changed its mind about audio already written ahead: drop all
        the server has not taken yet and write it again, this pull included."""
        self.splices += 1
        with stream.locked():
            flushed = stream.flush()
        stream.finish(flushed, SPLICE_TIMEOUT_S)
        with stream.locked():
            timing = stream.update_timing()
        stream.finish(timing, SPLICE_TIMEOUT_S)
        with stream.locked():
            write_at, _read = stream.indexes()
        end = start + len(data)
        if write_at < start:
            at = max(write_at, self._ring_at) - self._ring_at
            again = bytes(self._ring[at : start - self._ring_at]) + data
            write_at = start - (len(again) - len(data))
        else:
            again = data[write_at - start :] if write_at < end else b""
        del self._ring[max(0, write_at - self._ring_at) :]
        self._written = write_at
        if again:
            with stream.locked():
                stream.write(again, at=write_at)
            self._keep_written(again)
        self._pulled = end  # (behind `_written` if the server played copies past it)

    def _keep_written(self, data: bytes) -> None:
        if self._written != self._ring_at + len(self._ring):  # (after a splice's gap)
            self._ring.clear()
            self._ring_at = self._written
        self._ring += data
        self._written += len(data)

    def _trim(self, reading: int) -> None:
        drop = reading - self._keep - self._ring_at
        if drop > 4 * self._keep:
            del self._ring[:drop]
            self._ring_at += drop
