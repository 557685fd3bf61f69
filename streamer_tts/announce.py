"""Announcing a turn: log lines and replies, only once its writes are durable.

The conductor hands over what one turn must write (journal operations) and
what it says (reports, replies). Without writes pending, it is said at once;
otherwise it goes to the journal writer with the writes and is said when
`Written` comes back, in the order the turns ran. A write that failed is
never announced as durable: an API acceptance is undone by its reply
callback (the API answers 503), anything else is logged `journal.degraded`,
counted and shown in systemd's status line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from . import logs, systemd
from .core import records
from .core.decisions import Accepted, Decision
from .core.playback import Note, Report
from .inbox import Ask
from .journal.writer import Batch, JournalUnavailable, JournalWriter, Written
from .views import log_report

if TYPE_CHECKING:
    from .core.admission import Admission

__all__ = ["Announcer", "Reply", "reply"]

# A reply gets the write's error (None: durable) and returns the ids it withdrew.
Reply = Callable[[str | None], Iterable[str]]


class Announcer:
    def __init__(self, writer: JournalWriter | None) -> None:
        self.writer = writer
        self.degraded = 0  # failed writes: what they held is not durable
        self.unannounced = 0  # batches handed to the writer, not yet announced
        self._status_degraded = False  # systemd's status line says so

    def unwritten(self, message_id: str) -> bool:
        """Whether this message's acceptance is still on its way to disk."""
        return self.writer is not None and message_id in self.writer.unwritten

    def turn(self, ops: list[records.Op], reports: list[Report], replies: list[Reply]) -> None:
        if not (ops or reports or replies):
            return
        gone: set[str] = set()  # acceptances withdrawn: never announced

        def announce(error: str | None) -> None:
            for reply in replies:
                gone.update(reply(error))
            if error and any(_subject(op) not in gone for op in ops):
                self._degraded(error)
            elif not error and ops and self._status_degraded:
                self._status_degraded = False
                systemd.status(f"journal writing again ({self.degraded} writes failed before)")
            for report in reports:
                if report.note is Note.REJECTED or report.fields.get("id") not in gone:
                    log_report(report)

        if self.writer is None or not (ops or self.unannounced):
            announce(None)
            return
        self.unannounced += 1
        self.writer.submit(Batch(tuple(ops), [announce]))

    def written(self, item: Written) -> None:
        self.unannounced -= 1
        for then in item.batch.after:
            then(item.error)

    def _degraded(self, error: str) -> None:
        self.degraded += 1
        self._status_degraded = True
        logs.emit(logs.JOURNAL_DEGRADED, error=error)
        systemd.status(f"journal degraded: {self.degraded} writes failed ({error})")


def _subject(op: records.Op) -> str:
    match op:
        case records.Accept(message):
            return message.id
        case records.BanUser(login) | records.UnbanUser(login) | records.SetVoice(login):
            return login
        case records.SetPronunciation(term):
            return term
        case records.SetNickname(login):
            return login
        case _:
            return op.id


def reply(
    item: object,
    decision: Decision,
    admission: Admission,
    on_decision: Callable[[Any, Decision], None] | None,
) -> Reply:
    """Answer whoever waits for `decision`, once its writes are done.

    An API acceptance that could not be written is undone (`withdraw`: not
    queued, not a duplicate when retried) and answered JournalUnavailable.
    """

    def answer(error: str | None) -> Iterable[str]:
        ask = item if isinstance(item, Ask) else None
        if error and ask is not None and isinstance(decision, Accepted):
            m, evicted = decision.message, decision.evicted
            admission.withdraw(m.id, evicted)
            if not ask.answer.done():
                ask.answer.set_exception(JournalUnavailable(error))
            return [m.id] + ([evicted.id] if evicted else [])
        if ask is not None and not ask.answer.done():
            ask.answer.set_result(decision)
        elif ask is None and on_decision is not None:
            on_decision(item, decision)
        return ()

    return answer
