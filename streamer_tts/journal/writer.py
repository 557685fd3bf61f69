"""The journal's one owner while the daemon runs: a worker thread, group commit.

SQLite is blocking I/O, so every call runs on one worker thread. The
conductor hands over each turn's operations as a `Batch` and goes on at
once (a cut never waits for the disk); batches that pile up while a write
is in flight go to disk together, in one transaction (group commit), with
an fsync when one of them accepts a paid message. Each batch comes back
through `report` as `Written`, in order, with the error if the write
failed: what the batch announces is announced only then.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from .. import logs
from ..core import records

if TYPE_CHECKING:
    from collections.abc import Callable

    from .store import Journal

__all__ = ["Batch", "JournalUnavailable", "JournalWriter", "Written"]

T = TypeVar("T")


class JournalUnavailable(Exception):
    """An acceptance could not be made durable; nothing was queued (retry later)."""


@dataclass(eq=False)
class Batch:
    """One turn's operations and what waits on them (reports, replies)."""

    ops: tuple[records.Op, ...]
    after: list[Callable[[str | None], object]] = field(default_factory=list)

    @property
    def paid(self) -> bool:
        return any(isinstance(op, records.Accept) and op.message.paid for op in self.ops)


@dataclass(frozen=True, slots=True)
class Written:
    """A batch is on disk (`error` empty), or could not be written."""

    batch: Batch
    error: str | None


class JournalWriter:
    def __init__(self, journal: Journal, report: Callable[[Written], object]) -> None:
        self.journal = journal
        self._report = report
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="journal")
        self._waiting: list[Batch] = []
        self._task: asyncio.Task[None] | None = None
        self.unwritten: set[str] = set()  # accepted ids not yet durable
        self.failures = 0  # batches that could not be written

    @property
    def busy(self) -> bool:
        return bool(self._waiting) or (self._task is not None and not self._task.done())

    def submit(self, batch: Batch) -> None:
        """Queue a batch for the disk; never waits."""
        self._waiting.append(batch)
        self.unwritten.update(op.message.id for op in batch.ops if isinstance(op, records.Accept))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="journal")

    async def read(self, call: Callable[..., T], *args: object) -> T:
        """A read on the thread that owns the connection (the history)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(call, *args))

    async def flush(self) -> None:
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    def close(self) -> None:
        """Write what is left (the loop may be gone), then stop the thread."""
        self._pool.shutdown(wait=True)
        if self._waiting:
            group, self._waiting = self._waiting, []
            with contextlib.suppress(Exception):
                self.journal.apply([op for b in group for op in b.ops], full_sync=True)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            group, self._waiting = self._waiting, []
            ops = [op for b in group for op in b.ops]
            error: str | None = None
            if ops:
                full = any(b.paid for b in group)
                apply = functools.partial(self.journal.apply, ops, full_sync=full)
                try:
                    for problem in await loop.run_in_executor(self._pool, apply):
                        logs.emit(logs.JOURNAL_FAILED, error=problem[:300])
                except Exception as e:
                    error = f"{e.__class__.__name__}: {e}"[:300]
                    self.failures += 1
            for batch in group:
                for op in batch.ops:
                    if isinstance(op, records.Accept):
                        self.unwritten.discard(op.message.id)
                self._report(Written(batch, error))
