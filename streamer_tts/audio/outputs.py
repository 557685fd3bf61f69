"""Outputs: the device side of the sound path.

Every output *pulls* from a :class:`~streamer_tts.audio.feed.Feed` in real time
and never decides anything: cutting, pausing and gaps all happen inside
``feed.pull``. That is what makes a skip land on the next device buffer.

- :class:`PyAudioOutput`: a PortAudio *callback* stream with small buffers.
- :class:`WavFileOutput`: a thread pacing itself on ``time.monotonic()`` and
  writing what a listener would have heard, silence included, to a WAV file.
- :class:`NullOutput`: the same pacing, audio discarded (dry runs).

Each output is owned by one task (the player); ``close()`` is idempotent.
"""

from __future__ import annotations

import abc
import logging
import os
import sys
import threading
import time
import wave
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from streamer_tts.audio.pcm import SAMPLE_WIDTH_BYTES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import pyaudio

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

DEFAULT_DEVICE: Final = "default"
PACED_BLOCK_S: Final = 0.010
"""Paced outputs pull about every 10 ms: fine enough for exact WAV timing."""
MAX_CATCH_UP_S: Final = 1.0
"""If the process stalls, a paced output catches up at most this much per pull."""
WAV_FLUSH_S: Final = 0.5
"""The WAV header and data reach the OS at least this often."""


class OutputError(Exception):
    """The output cannot be opened or used (a setup problem, one line for the user)."""


class Output(Protocol):
    """What the player needs from any output."""

    @property
    def name(self) -> str: ...

    def start(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """One PortAudio output device, as shown by ``bot.py devices``."""

    index: int
    name: str
    channels: int
    default_rate: float
    """Hertz."""
    is_default: bool


# ---- PortAudio -------------------------------------------------------------


@contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Send fd 2 to /dev/null: PortAudio's ALSA/JACK probing prints dozens of
    harmless errors on machines without every backend, which users take for
    real failures. Used around initialisation only."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _pyaudio() -> pyaudio.PyAudio:
    """A fresh ``pyaudio.PyAudio`` (imported late: tests and dry runs never need it)."""
    import pyaudio

    with _stderr_silenced():
        return pyaudio.PyAudio()


def _devices(pa: pyaudio.PyAudio) -> list[DeviceInfo]:
    try:
        default_index = pa.get_default_output_device_info()["index"]
    except OSError:
        default_index = None
    found = []
    for i in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(i)
        channels = int(info["maxOutputChannels"])
        if channels > 0:
            found.append(
                DeviceInfo(
                    index=i,
                    name=str(info["name"]),
                    channels=channels,
                    default_rate=float(info["defaultSampleRate"]),
                    is_default=i == default_index,
                )
            )
    return found


def list_output_devices() -> list[DeviceInfo]:
    """All devices that can play sound, in PortAudio's order."""
    pa = _pyaudio()
    try:
        return _devices(pa)
    finally:
        pa.terminate()


def _choose(devices: list[DeviceInfo], device: str) -> DeviceInfo:
    """Pick ``"default"`` or the device whose name contains ``device``.

    An exact (case-insensitive) name wins over substrings, then the first
    substring match in PortAudio's order.
    """
    if device.strip().lower() == DEFAULT_DEVICE:
        for info in devices:
            if info.is_default:
                return info
    wanted = device.strip().lower()
    exact = [d for d in devices if d.name.lower() == wanted]
    partial = [d for d in devices if wanted in d.name.lower()]
    if exact or partial:
        return (exact or partial)[0]
    names = ", ".join(repr(d.name) for d in devices) or "none"
    raise OutputError(f"no output device matches {device!r}; output devices: {names}")


def find_output_device(device: str = DEFAULT_DEVICE) -> DeviceInfo:
    """Resolve a device spec without opening it (for ``check-config``)."""
    return _choose(list_output_devices(), device)


def native_rate(spec: str, *, fallback_hz: int) -> int:
    """Sample rate to run the feed at for output ``spec``.

    A device fed at its own rate skips the sound server's resampler, which
    also lets PortAudio run stably with half the buffering: on PulseAudio,
    256-frame buffers at 44100 Hz give ~12 ms of output latency versus ~23 ms
    at 22050 Hz (below 256 frames at 22050 Hz the stream underflows). Engines'
    audio is resampled to this rate with :class:`~streamer_tts.audio.pcm.Resampler`.
    Files and ``none`` have no native rate: ``fallback_hz``.
    """
    text = spec.strip().lower()
    if text == "none" or text.startswith("file:"):
        return fallback_hz
    return round(find_output_device(spec.strip()).default_rate)


class PyAudioOutput:
    """A PortAudio callback stream that plays whatever the feed yields.

    The callback only calls ``feed.pull``: a cut is heard after at most one
    buffer (``frames_per_buffer``, ~12 ms at 22050 Hz for 256) plus the
    device's own latency (:attr:`latency_s`).
    """

    def __init__(
        self, feed: Feed, *, device: str = DEFAULT_DEVICE, frames_per_buffer: int = 256
    ) -> None:
        self._feed = feed
        self._device = device
        self._frames_per_buffer = frames_per_buffer
        self._pa: Any = None
        self._stream: Any = None
        self._lock = threading.Lock()
        self.device_info: DeviceInfo | None = None
        self.latency_s = 0.0
        """Output latency PortAudio reports for the open stream, in seconds."""
        self.underflows = 0
        """Times the device ran out of data (the callback came too late)."""
        self.error: BaseException | None = None
        """Set if the callback failed; the stream is then aborted."""

    @property
    def name(self) -> str:
        if self.device_info is None:
            return f"pyaudio:{self._device}"
        return f"pyaudio:{self.device_info.name}"

    def start(self) -> None:
        """Open the device and start pulling. Raises :class:`OutputError`."""
        import pyaudio

        with self._lock:
            if self._stream is not None:
                return
            self._pa = _pyaudio()
            try:
                self.device_info = _choose(_devices(self._pa), self._device)
                self._stream = self._pa.open(
                    format=pyaudio.paInt16,
                    channels=1,
                    rate=self._feed.fmt.sample_rate,
                    output=True,
                    output_device_index=self.device_info.index,
                    frames_per_buffer=self._frames_per_buffer,
                    stream_callback=self._callback,
                )
            except OutputError:
                self._terminate()
                raise
            except OSError as exc:
                self._terminate()
                raise OutputError(f"cannot open output device {self._device!r}: {exc}") from exc
            self.latency_s = float(self._stream.get_output_latency())
            self._stream.start_stream()
            log.info("output %s started, latency %.1f ms", self.name, self.latency_s * 1000)

    def _callback(
        self, _in: bytes | None, frame_count: int, _time: object, status: int
    ) -> tuple[bytes, int]:
        import pyaudio

        if status & pyaudio.paOutputUnderflow:
            self.underflows += 1
        try:
            return self._feed.pull(frame_count), pyaudio.paContinue
        except Exception as exc:  # our bug: log it loudly, stop the device cleanly
            self.error = exc
            log.exception("output callback failed; stopping %s", self.name)
            return bytes(frame_count * SAMPLE_WIDTH_BYTES), pyaudio.paAbort

    def close(self) -> None:
        with self._lock:
            if self._stream is not None:
                try:
                    self._stream.stop_stream()
                    self._stream.close()
                except OSError:
                    log.warning("closing %s failed", self.name, exc_info=True)
                self._stream = None
            self._terminate()

    def _terminate(self) -> None:
        if self._pa is not None:
            self._pa.terminate()
            self._pa = None


# ---- paced outputs -----------------------------------------------------------


class _PacedOutput(abc.ABC):
    """Pulls from the feed in ~10 ms blocks at the feed's real-time rate.

    Frames due are computed from the start instant, not accumulated per
    sleep, so the output never drifts from wall-clock time.
    """

    latency_s = 0.0

    def __init__(self, feed: Feed, *, clock: Callable[[], float] = time.monotonic) -> None:
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
