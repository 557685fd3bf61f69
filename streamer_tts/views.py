"""What the outside sees of the conductor: log lines, the queue, the history.

Kept apart from the conductor's loop: these only read and format. `Queries`
is the control API's side of the conductor (`snapshot`, `history`, `ask`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from . import logs
from .core.playback import Note, Playback, Report
from .inbox import Ask

if TYPE_CHECKING:
    from collections.abc import Callable

    from .core.admission import Admission
    from .core.decisions import Decision, Message
    from .journal import Entry
    from .journal.writer import JournalWriter

__all__ = ["Queries", "describe", "held_row", "history_rows", "log_report", "queue_row"]

LOG_NAMES: dict[Note, str] = {
    Note.ACCEPTED: logs.TTS_ACCEPTED,
    Note.REJECTED: logs.TTS_REJECTED,
    Note.CONTROL: logs.TTS_CONTROL,
    Note.STARTED: logs.TTS_STARTED,
    Note.FINISHED: logs.TTS_FINISHED,
    Note.SKIPPED: logs.TTS_SKIPPED,
    Note.DROPPED: logs.TTS_DROPPED,
    Note.FAILED: logs.TTS_FAILED,
    Note.INTERRUPTED: logs.TTS_INTERRUPTED,
    Note.SILENCED: logs.TTS_SILENCED,
    Note.HELD: logs.TTS_HELD,
    Note.APPROVED: logs.TTS_APPROVED,
    Note.FLOOD_ON: logs.QUEUE_FLOOD_ON,
    Note.FLOOD_OFF: logs.QUEUE_FLOOD_OFF,
}


def log_report(report: Report) -> None:
    logs.emit(LOG_NAMES[report.note], **report.fields)


def describe(m: Message) -> dict[str, Any]:
    """The fields every view of a message shares (queue snapshot, history)."""
    return {
        "id": m.id,
        "user": m.user,
        "source": str(m.source),
        "priority": str(m.priority),
        "kind": m.meta.get("kind", ""),
    }


def queue_row(m: Message, now: float) -> dict[str, Any]:
    waited_s = round(max(0.0, now - m.enqueued_at), 1)
    row = {
        **describe(m),
        "paid": m.paid,
        "text": m.text,
        "waited_s": waited_s,
        "voice": m.voice,  # the alias that will read it (None: the one configured voice)
    }
    if m.ready_at > now:  # held by moderation: seconds left before it may play
        row["hold_s"] = round(m.ready_at - now, 1)
    return row


def held_row(n: int, m: Message, now: float, admission: Admission) -> dict[str, Any]:
    """A message waiting for approval: `n` is what `!ttsok <n>` takes."""
    deadline = admission.approvals.deadline(m.id) or now
    return {**queue_row(m, now), "n": n, "expires_s": round(max(0.0, deadline - now), 1)}


def history_rows(entries: list[Entry]) -> list[dict[str, Any]]:
    return [
        {
            **describe(e.message),
            "text": e.message.spoken or e.message.text,
            "state": str(e.state),
            "ended_at_s": e.ended_at_s,
        }
        for e in entries
    ]


class Queries:
    """The control API's questions; answered from the owners' state, read only."""

    admission: Admission
    playback: Playback
    writer: JournalWriter | None
    submit: Callable[[object], bool]
    _now: Callable[[], float]
    _quiet: Callable[[], bool]
    _idle: asyncio.Event

    async def drained(self) -> None:
        """Wait until the inbox is empty and nothing is queued, playing or unannounced."""
        while True:
            await self._idle.wait()
            if self._quiet():
                return
            self._idle.clear()

    def snapshot(self) -> dict[str, Any]:
        """What is playing and what waits, in play order."""
        now, playing = self._now(), self.playback.playing
        approvals = self.admission.approvals
        return {
            "playing": queue_row(playing, now) if playing is not None else None,
            "paused": self.playback.paused,
            "flood": self.admission.flood.on,
            "queue": [queue_row(m, now) for m in self.admission.queue.snapshot(now)],
            "held": [held_row(n, m, now, self.admission) for n, m in enumerate(approvals, 1)],
        }

    async def history(self, limit: int = 50) -> list[dict[str, Any]]:
        """Recently ended messages, newest first, from the journal (empty without one)."""
        if self.writer is None:
            return []
        return history_rows(await self.writer.read(self.writer.journal.history, limit))

    async def ask(self, event: object, timeout_s: float = 10.0) -> Decision:
        """Submit an event and wait for its decision.

        Raises JournalUnavailable when the acceptance could not be written
        (nothing was queued: the caller may retry), RuntimeError when the
        inbox refuses it.
        """
        answer: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        if not self.submit(Ask(event, answer)):
            raise RuntimeError("the conductor's inbox is full")
        return await asyncio.wait_for(answer, timeout_s)
