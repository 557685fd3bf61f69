"""Outputs: the device side of the sound path.

Every output *pulls* from a :class:`~streamer_tts.audio.feed.Feed` in real time
and never decides anything: cutting, pausing and gaps all happen inside
``feed.pull``. That is what makes a skip land on the next device buffer.

- :class:`PyAudioOutput`: a PortAudio *callback* stream with small buffers. It
  is the device's sole owner: when the device stops pulling (unplugged, sound
  server restarted, stream aborted) it notices within :data:`STALL_S` plus one
  check, logs ``audio.lost``, reopens it with capped backoff, logs
  ``audio.restored`` and pulls from the same feed again.
- :class:`WavFileOutput`: a thread pacing itself on ``time.monotonic()`` and
  writing what a listener would have heard, silence included, to a WAV file.
- :class:`NullOutput`: the same pacing, audio discarded (dry runs).

Every output reports its health (:attr:`healthy`, :meth:`lost_for_s`,
:meth:`on_health`) so the daemon can tell systemd when it is stuck in silence.
Each output is owned by one task (the player); ``close()`` is idempotent.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import os
import threading
import time
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from streamer_tts import logs
from streamer_tts.audio.devices import (
    DEFAULT_DEVICE,
    DeviceInfo,
    OutputError,
    choose_device,
    find_output_device,
    list_output_devices,
    native_rate,
    new_pyaudio,
    output_devices,
)
from streamer_tts.audio.pcm import SAMPLE_WIDTH_BYTES

if TYPE_CHECKING:
    from collections.abc import Callable

    from streamer_tts.audio.feed import Feed

__all__ = [
    "DEFAULT_DEVICE",
    "DeviceInfo",
    "NullOutput",
    "Output",
    "OutputError",
    "PyAudioOutput",
    "WavFileOutput",
    "find_output_device",
    "list_output_devices",
    "native_rate",
    "open_output",
]

log = logging.getLogger(__name__)

PACED_BLOCK_S: Final = 0.010
"""Paced outputs pull about every 10 ms: fine enough for exact WAV timing."""
MAX_CATCH_UP_S: Final = 1.0
"""If the process stalls, a paced output catches up at most this much per pull."""
WAV_FLUSH_S: Final = 0.5
"""The WAV header and data reach the OS at least this often."""
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


class Output(Protocol):
    """What the player and the daemon need from any output."""

    @property
    def name(self) -> str: ...

    @property
    def healthy(self) -> bool: ...

    def lost_for_s(self) -> float: ...

    def on_health(self, callback: Callable[[bool], None]) -> Callable[[], None]: ...

    def start(self) -> None: ...

    def close(self) -> None: ...


class _Health:
    """Lost / healthy state and its subscribers (listeners run on the output's thread)."""

    def __init__(self) -> None:
        self._lost_since: float | None = None
        self._health_listeners: list[Callable[[bool], None]] = []

    @property
    def healthy(self) -> bool:
        """False while the device is lost (not pulling) and not yet restored."""
        return self._lost_since is None

    def lost_for_s(self) -> float:
        """Seconds since the device was lost, or 0 while healthy."""
        since = self._lost_since
        return 0.0 if since is None else time.monotonic() - since

    def on_health(self, callback: Callable[[bool], None]) -> Callable[[], None]:
        """Call ``callback(lost)`` on every change, from the output's own thread
        (forward with ``call_soon_threadsafe``); returns the unsubscribe."""
        self._health_listeners.append(callback)
        return lambda: self._health_listeners.remove(callback)

    def _set_lost(self, lost: bool) -> None:
        self._lost_since = time.monotonic() if lost else None
        for listener in list(self._health_listeners):
            try:
                listener(lost)
            except Exception:
                log.exception("output health listener failed")


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


def _boost_sound_threads() -> None:
    """Real-time scheduling for the sound libraries' own threads (Linux; best effort)."""
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().strip() not in SOUND_THREADS:
                    continue
            os.sched_setscheduler(int(tid), os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
        except (OSError, ValueError, AttributeError):
            continue


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class PyAudioOutput(_Health):
    """A PortAudio callback stream that plays whatever the feed yields.

    The callback only pulls from the feed (into its reused buffer): a cut is
    heard after at most one buffer (``frames_per_buffer``, ~6 ms at 44100 Hz
    for 256) plus the device's own latency (:attr:`latency_s`). A watcher
    thread reopens the device when it stops pulling (see the module doc).
    """

    def __init__(
        self, feed: Feed, *, device: str = DEFAULT_DEVICE, frames_per_buffer: int = 256
    ) -> None:
        super().__init__()
        self._feed = feed
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
        """Open the device and start pulling. Raises :class:`OutputError`."""
        with self._lock:
            if self._stream is not None or self._watcher is not None:
                return
            self._open()
            self._loop = _running_loop()
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
            _boost_sound_threads()  # the sound server client's thread exists by now
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


# ---- paced outputs -----------------------------------------------------------


class _PacedOutput(_Health, abc.ABC):
    """Pulls from the feed in ~10 ms blocks at the feed's real-time rate.

    Frames due are computed from the start instant, not accumulated per
    sleep, so the output never drifts from wall-clock time.
    """

    latency_s = 0.0

    def __init__(self, feed: Feed, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()  # a clock-paced output never loses its "device"
        self._feed = feed
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.frames_written = 0

    @property
    @abc.abstractmethod
    def name(self) -> str: ...

    @abc.abstractmethod
    def _sink(self, pcm: bytes) -> None: ...

    @abc.abstractmethod
    def _finish(self) -> None:
        """Release resources after the pacing thread has stopped."""

    def start(self) -> None:
        if self._thread is not None or self._closed:
            return
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        rate = self._feed.fmt.sample_rate
        max_frames = int(MAX_CATCH_UP_S * rate)
        started = self._clock()
        while not self._stop.is_set():
            due = int((self._clock() - started) * rate) - self.frames_written
            if due > 0:
                n = min(due, max_frames)
                self._sink(self._feed.pull(n))
                self.frames_written += n
            self._stop.wait(PACED_BLOCK_S)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._finish()


class NullOutput(_PacedOutput):
    """Consumes the feed in real time and discards it: a dry run still has
    events, gaps and timing exactly as with a device."""

    @property
    def name(self) -> str:
        return "none"

    def _sink(self, pcm: bytes) -> None:
        pass

    def _finish(self) -> None:
        pass


class WavFileOutput(_PacedOutput):
    """Records exactly what listeners would hear, in real time, to a WAV file.

    ``wave.writeframes`` rewrites the RIFF and data sizes after every block and
    the file is flushed every :data:`WAV_FLUSH_S`, so the file on disk is a
    valid WAV even if the process is killed.
    """

    def __init__(
        self,
        feed: Feed,
        path: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(feed, clock=clock)
        self.path = Path(path)
        try:
            self._file = open(self.path, "wb")  # noqa: SIM115 (closed in _finish)
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror}") from exc
        self._wav = wave.open(self._file, "wb")  # noqa: SIM115 (closed in _finish)
        self._wav.setnchannels(1)
        self._wav.setsampwidth(SAMPLE_WIDTH_BYTES)
        self._wav.setframerate(feed.fmt.sample_rate)
        self._wav.writeframes(b"")  # header on disk before the first block
        self._file.flush()
        self._last_flush = self._clock()

    @property
    def name(self) -> str:
        return f"file:{self.path}"

    def _sink(self, pcm: bytes) -> None:
        self._wav.writeframes(pcm)
        now = self._clock()
        if now - self._last_flush >= WAV_FLUSH_S:
            self._file.flush()
            self._last_flush = now

    def _finish(self) -> None:
        self._wav.close()
        self._file.close()


def open_output(spec: str, feed: Feed, *, frames_per_buffer: int = 256) -> Output:
    """Build (not start) the output named by a config spec.

    ``"default"`` or a device-name substring: a sound device; ``"none"``:
    discard; ``"file:PATH.wav"``: record to a WAV file.
    """
    text = spec.strip()
    if not text:
        raise OutputError("output spec is empty; use 'default', 'none', 'file:PATH.wav' or a name")
    if text.lower() == "none":
        return NullOutput(feed)
    if text.lower().startswith("file:"):
        path = text[len("file:") :].strip()
        if not path:
            raise OutputError("output 'file:' needs a path, e.g. file:out.wav")
        return WavFileOutput(feed, path)
    return PyAudioOutput(feed, device=text, frames_per_buffer=frames_per_buffer)
