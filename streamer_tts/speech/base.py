"""The engine interface: stream a text as PCM chunks of a declared format, and cancel.

Both engines share `StreamedSynthesis`, the imperative shell between one producer
task (a worker thread's sentences, a WebSocket context's chunks) and one consumer
(the player): a bounded queue, one terminal outcome, and a cancel that wakes the
consumer at once.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final, Protocol, runtime_checkable

from streamer_tts.core.pcm_format import PcmFormat

__all__ = [
    "Engine",
    "EngineConfigError",
    "EngineError",
    "PcmFormat",
    "StreamedSynthesis",
    "Synthesis",
]


class EngineError(Exception):
    """A message failed (error event, timeout, dropped socket): fall back, keep running."""

    def __init__(self, engine: str, detail: str) -> None:
        super().__init__(f"{engine}: {detail}")
        self.engine = engine
        self.detail = detail


class EngineConfigError(EngineError):
    """A configuration problem found at start (bad key, unknown voice, missing model).

    Its message is one line meant for the user, and never contains a secret.
    """


@runtime_checkable
class Synthesis(Protocol):
    """One message being spoken: an async iterator of PCM chunks in the engine's format.

    Iteration raises EngineError on failure. A consumer that stops early must call
    `cancel()`, or the engine keeps generating into a full queue.
    """

    first_chunk_s: float | None
    """Seconds from stream start to the first chunk (time-to-first-audio), once known."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def __anext__(self) -> bytes: ...

    async def cancel(self) -> None:
        """Stop generation in flight; idempotent; iteration then ends without more chunks."""
        ...


@runtime_checkable
class Engine(Protocol):
    """A speech engine; one instance owns its model or socket."""

    name: str

    @property
    def format(self) -> PcmFormat:
        """Read-only here, so a wrapper may pass its inner engine's through."""
        ...

    async def start(self) -> None:
        """Load, connect and validate; raises EngineConfigError for bad config."""
        ...

    def synthesize(self, text: str, *, voice: str | None = None) -> Synthesis: ...

    async def close(self) -> None: ...


Emit = Callable[[bytes], Awaitable[None]]


class _Finished:
    """Terminal outcome of a producer that ended normally."""


_FINISHED: Final = _Finished()
_CANCEL_WAIT_S: Final = 2.0
"""How long cancel() waits for the producer's own clean-up (itself bounded by timeouts)."""


class StreamedSynthesis(ABC):
    """A Synthesis whose chunks come from one producer task started at first iteration.

    Lazy start: a synthesis created and dropped before playback costs nothing.
    Subclasses implement `_produce(emit)`, awaiting `emit(chunk)` for each chunk;
    `emit` blocks when `max_chunks_ahead` chunks wait unread (back-pressure).
    """

    def __init__(self, engine: str, *, max_chunks_ahead: int) -> None:
        self.engine = engine
        self.first_chunk_s: float | None = None
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(max_chunks_ahead)
        self._changed = asyncio.Event()
        self._outcome: BaseException | _Finished | None = None
        self._cancelled = False
        self._task: asyncio.Task[None] | None = None
        self._started_s: float | None = None

    @abstractmethod
    async def _produce(self, emit: Emit) -> None:
        """Generate the chunks; raise EngineError on failure; clean up on cancel."""

    def __aiter__(self) -> StreamedSynthesis:
        return self

    async def __anext__(self) -> bytes:
        if self._task is None and not self._cancelled:
            self._started_s = time.monotonic()
            self._task = asyncio.create_task(self._run(), name=f"{self.engine}-synthesis")
        while True:
            if self._cancelled:
                raise StopAsyncIteration
            if not self._queue.empty():
                return self._queue.get_nowait()
            if self._outcome is not None:
                outcome, self._outcome = self._outcome, _FINISHED
                if isinstance(outcome, BaseException):
                    raise outcome
                raise StopAsyncIteration
            self._changed.clear()
            await self._changed.wait()

    async def cancel(self) -> None:
        if self._cancelled:
            return
        self._cancelled = True
        self._changed.set()
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=_CANCEL_WAIT_S)

    def fail(self, error: EngineError) -> None:
        """End the stream with `error` from outside the producer (e.g. the socket dropped)."""
        if self._outcome is None:
            self._outcome = error
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._changed.set()

    @property
    def done(self) -> bool:
        """True once the producer has ended, for whatever reason."""
        return self._cancelled or self._outcome is not None

    async def _emit(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self.first_chunk_s is None and self._started_s is not None:
            self.first_chunk_s = time.monotonic() - self._started_s
        await self._queue.put(chunk)
        self._changed.set()

    async def _run(self) -> None:
        try:
            await self._produce(self._emit)
            outcome: BaseException | _Finished = _FINISHED
        except asyncio.CancelledError:
            self._changed.set()
            raise
        except Exception as exc:  # re-raised in the consumer, traceback intact
            outcome = exc
        if self._outcome is None:
            self._outcome = outcome
        self._changed.set()
