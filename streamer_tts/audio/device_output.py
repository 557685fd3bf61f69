"""The sound-device output: a PortAudio callback stream and its supervision.

The device's sole owner. When the device stops pulling (unplugged, sound
server restarted, stream aborted) its watcher notices within :data:`STALL_S`
plus one check, logs ``audio.lost``, reopens it with capped backoff, logs
``audio.restored`` and pulls from the same feed again. Apart from the paced
outputs because all of this (threads, scheduling, PortAudio) is device-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any, Final

from streamer_tts import logs
from streamer_tts.audio.devices import (
    DEFAULT_DEVICE,
    FRAMES_PER_BUFFER,
    DeviceInfo,
    OutputError,
    choose_device,
    new_pyaudio,
    output_devices,
)
from streamer_tts.audio.health import Health
from streamer_tts.audio.pcm import SAMPLE_WIDTH_BYTES

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
RT_PRIORITY: Final = 10
"""SCHED_FIFO priority asked for the device callback thread (PulseAudio asks rtkit
for 5 to 20 for its clients): with CPU-bound programs beside the daemon, an
ordinary thread wakes too late for ~12 ms of device buffer."""
NICE_FALLBACK: Final = -10
"""Without permission for real-time scheduling, at least a better nice value."""
RETRY_FIRST_S: Final = 0.5
RETRY_MAX_S: Final = 5.0
"""Reopen attempts back off from RETRY_FIRST_S, doubling, to at most this."""


def _boost_this_thread() -> str:
    """Ask for real-time scheduling for the calling (device callback) thread.

    Linux applies both calls to the calling thread only. Refused without
    CAP_SYS_NICE or an RLIMIT_RTPRIO / RLIMIT_NICE allowance (a systemd unit's
    ``LimitRTPRIO=``): then the thread stays as it was, which still works on
    an idle machine.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
        return "fifo"
    except (OSError, AttributeError):
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE_FALLBACK)
        return "nice"
    except (OSError, AttributeError):
        return "normal"


SOUND_THREADS: Final = ("threaded-ml",)
"""Threads of sound libraries in this process that carry our audio: libpulse's
mainloop (PortAudio -> ALSA pulse plugin -> PulseAudio) must wake as promptly
as the callback, or the server's buffer runs dry all the same."""


def _tune_threads() -> None:
    """Real-time scheduling for the sound libraries' own threads, nice
    :data:`NICE_FALLBACK` for every other thread of ours (Linux; best effort).

    The callback needs the interpreter lock to run at all. A thread of ours
    holding it while a game or an encoder takes the CPU keeps the callback
    waiting (for 10 to 40 ms on 2 busy cores), longer than the device can
    wait. Threads started later inherit the main thread's nice value.
    """
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return
    for tid in map(int, tids):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            with open(f"/proc/self/task/{tid}/comm") as f:
                sound = f.read().strip() in SOUND_THREADS
            if sound:
                with contextlib.suppress(OSError, AttributeError):
                    os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
                    continue
            if os.getpriority(os.PRIO_PROCESS, tid) > NICE_FALLBACK:
                os.setpriority(os.PRIO_PROCESS, tid, NICE_FALLBACK)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class PyAudioOutput(Health):
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
        """A device missing at start is waited for (lost, retried), not an error."""
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
        self._loop: asyncio.AbstractEventLoop | None = None
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
            self._loop = _running_loop()
            try:
                self._open()
            except OutputError as exc:
                if not self.wait_for_device:
                    raise
                self._lose(str(exc))  # unplugged at boot, no sound server yet: retried
            else:
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
            _tune_threads()  # the sound server client's thread exists by now
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
            self.scheduling = _boost_this_thread()
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
        retry_s = RETRY_FIRST_S
        next_try = 0.0
        while not self._stop.wait(CHECK_S):
            with self._lock:
                if self._stop.is_set():
                    return
                if self.healthy:
                    problem = self._problem()
                    if problem is not None:
                        self._lose(problem)
                        retry_s, next_try = RETRY_FIRST_S, time.monotonic() + RETRY_FIRST_S
                elif time.monotonic() >= next_try:
                    try:
                        self._open()
                    except OutputError as exc:
                        log.debug("reopening %s failed: %s", self.name, exc)
                        next_try = time.monotonic() + retry_s
                        retry_s = min(retry_s * 2, RETRY_MAX_S)
                    else:
                        self._restore()

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

    def _emit(self, event: str, **fields: object) -> None:
        """Log on the event loop that started us (log listeners live there)."""
        loop = self._loop
        if loop is None:
            logs.emit(event, **fields)
        elif not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(lambda: logs.emit(event, **fields))

    def _lose(self, problem: str) -> None:
        self._release()
        self._feed.device_lost()
        self._set_lost(True)
        self._emit(logs.AUDIO_LOST, error=f"{self.name}: {problem}")

    def _restore(self) -> None:
        after_s = round(self.lost_for_s(), 1)
        self.reopens += 1
        self._feed.device_restored()
        self._set_lost(False)
        self._emit(logs.AUDIO_RESTORED, output=self.name, after_s=after_s)

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
