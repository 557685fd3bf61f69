"""The sound-device output: a PortAudio callback stream and its supervision.

The device's sole owner. When the device stops pulling (unplugged, sound
server restarted, stream aborted) its watcher notices within :data:`STALL_S`
plus one check, logs ``audio.lost``, reopens it with capped backoff, logs
``audio.restored`` and pulls from the same feed again. Apart from the paced
outputs because all of this (threads, scheduling, PortAudio) is device-only.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Final

from streamer_tts.audio.devices import (
    DEFAULT_DEVICE,
    FRAMES_PER_BUFFER,
    DeviceInfo,
    OutputError,
    choose_device,
    new_pyaudio,
    output_devices,
)
from streamer_tts.audio.health import DeviceHealth
from streamer_tts.audio.pcm import SAMPLE_WIDTH_BYTES
from streamer_tts.audio.realtime import boost_this_thread, tune_threads

if TYPE_CHECKING:
    from streamer_tts.audio.feed import Feed

__all__ = ["PyAudioOutput"]

log = logging.getLogger(__name__)

CHECK_S: Final = 0.25
"""How often the device's watcher looks at it."""
STALL_S: Final = 1.0
"""No device callback for this long means the device stopped pulling: lost.
Far above any scheduling hiccup (callbacks come every ~6 ms), well within 2 s."""
STARTUP_GRACE_S: Final = 1.5
"""A freshly opened PulseAudio stream takes ~0.7 s to its first callback."""


class PyAudioOutput(DeviceHealth):
    """A PortAudio callback stream that plays whatever the feed yields.

    The callback only pulls from the feed (into its reused buffer): a cut is
    heard after at most one buffer (``frames_per_buffer``, ~9 ms at 44100 Hz
    for 384) plus the device's own latency (:attr:`latency_s`). A watcher
    thread reopens the device when it stops pulling (see the module doc).
    """

    def __init__(
        self,
        feed: Feed,
        *,
        device: str = DEFAULT_DEVICE,
        frames_per_buffer: int = FRAMES_PER_BUFFER,
        wait_for_device: bool = False,
    ) -> None:
        super().__init__()
        self._feed = feed
        self.wait_for_device = wait_for_device
        self._device = device
        self._frames_per_buffer = frames_per_buffer
        self._pa: Any = None
        self._stream: Any = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._last_pull = 0.0
        self.device_info: DeviceInfo | None = None
        self.latency_s = 0.0
        """Output latency PortAudio reports for the open stream, in seconds."""
        self.underflows = 0
        """Times the device ran out of data (the callback came too late)."""
        self.error: BaseException | None = None
        """Set if the callback failed; the stream is then aborted (and reopened)."""
        self.reopens = 0
        """Times the device was reopened after a loss."""
        self._boosted = False
        self.scheduling = ""
        """How the callback thread is scheduled: "fifo", "nice" or "normal"."""

    @property
    def name(self) -> str:
        if self.device_info is None:
            return f"pyaudio:{self._device}"
        return f"pyaudio:{self.device_info.name}"

    def start(self) -> None:
        """Open the device and start pulling. Raises :class:`OutputError`, unless
        `wait_for_device`: then a missing device is reported lost and retried."""
        with self._lock:
            if self._stream is not None or self._watcher is not None:
                return
            self._bind_loop()
            if self._open_first():
                log.info("output %s started, latency %.1f ms", self.name, self.latency_s * 1000)
            self._stop.clear()
            self._watcher = threading.Thread(target=self._watch, name="output-watch", daemon=True)
            self._watcher.start()

    def _open(self) -> None:
        """Open and start the stream (lock held). Raises :class:`OutputError`."""
        import pyaudio

        self._pa = new_pyaudio()
        try:
            self.device_info = choose_device(output_devices(self._pa), self._device)
            self._stream = self._pa.open(
                format=pyaudio.paInt16,
                channels=1,
                rate=self._feed.fmt.sample_rate,
                output=True,
                output_device_index=self.device_info.index,
                frames_per_buffer=self._frames_per_buffer,
                stream_callback=self._callback,
            )
            self.latency_s = float(self._stream.get_output_latency())
            self._last_pull = time.monotonic() + STARTUP_GRACE_S
            self._boosted = False  # a new stream has a new callback thread
            self.error = None
            self._stream.start_stream()
            tune_threads()  # the sound server client's thread exists by now
        except OutputError:
            self._release()
            raise
        except OSError as exc:
            self._release()
            raise OutputError(f"cannot open output device {self._device!r}: {exc}") from exc

    def _callback(
        self, _in: bytes | None, frame_count: int, _time: object, status: int
    ) -> tuple[bytes, int]:
        import pyaudio

        self._last_pull = time.monotonic()
        if not self._boosted:
            self._boosted = True
            self.scheduling = boost_this_thread()
        if status & pyaudio.paOutputUnderflow:
            self.underflows += 1
        try:  # PyAudio takes only bytes: pull() fills a reused buffer, copies it once
            return self._feed.pull(frame_count), pyaudio.paContinue
        except Exception as exc:  # our bug: log it loudly, abort; the watcher reopens
            self.error = exc
            log.exception("output callback failed; stopping %s", self.name)
            return bytes(frame_count * SAMPLE_WIDTH_BYTES), pyaudio.paAbort

    # ---- the watcher: loss and restore ----------------------------------------

    def _watch(self) -> None:
        while not self._stop.wait(CHECK_S):
            with self._lock:
                if self._stop.is_set():
                    return
                if self.healthy:
                    problem = self._problem()
                    if problem is not None:
                        self._lose(problem)
                else:
                    self._reopen_when_due()

    def _problem(self) -> str | None:
        """Why the open stream no longer plays, or None (lock held)."""
        if self.error is not None:
            return f"output callback failed: {self.error.__class__.__name__}: {self.error}"
        stalled_s = time.monotonic() - self._last_pull
        try:
            active = bool(self._stream.is_active())
        except OSError as exc:
            return f"stream error: {exc}"
        if not active:
            return "the stream stopped (device gone or sound server restarted)"
        if stalled_s > STALL_S:
            return f"the device took no audio for {stalled_s:.1f} s"
        return None

    # ---- closing ------------------------------------------------------------------

    def close(self) -> None:
        self._stop.set()
        watcher, self._watcher = self._watcher, None
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join()
        with self._lock:
            self._release()

    def _release(self) -> None:
        """Close the stream and PortAudio, whatever state they are in (lock held)."""
        if self._stream is not None:
            try:
                self._stream.stop_stream()
                self._stream.close()
            except OSError:
                log.debug("closing %s failed", self.name, exc_info=True)
            self._stream = None
        if self._pa is not None:
            self._pa.terminate()
            self._pa = None
