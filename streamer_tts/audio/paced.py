"""Outputs paced by the clock instead of a device: a WAV file, or nothing.

A thread pulls from the feed at its real-time rate, so a dry run or a
recording has the same events, gaps and timing as a sound device.
"""

from __future__ import annotations

import abc
import threading
import time
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Final

from streamer_tts.audio.devices import OutputError
from streamer_tts.audio.health import Health
from streamer_tts.audio.pcm import SAMPLE_WIDTH_BYTES

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

    from streamer_tts.audio.feed import Feed

__all__ = ["NullOutput", "WavFileOutput"]

PACED_BLOCK_S: Final = 0.010
"""Paced outputs pull about every 10 ms: fine enough for exact WAV timing."""
MAX_CATCH_UP_S: Final = 1.0
"""If the process stalls, a paced output catches up at most this much per pull."""
WAV_FLUSH_S: Final = 0.5
"""The WAV header and data reach the OS at least this often."""


class _PacedOutput(Health, abc.ABC):
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
