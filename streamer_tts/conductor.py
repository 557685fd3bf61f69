"""The conductor: one task feeds admission and playback, and carries out what they say.

Everything arrives in one inbox (adapters' events, the player's reports, the
journal's `Written`, a reload). For each item the task asks `Admission` for
a decision and `Playback` for actions, and carries them out at once
(`actions.py`): a cut tells the player and returns, a write goes to the
journal writer, flushed at stop (`settle.py`). It never awaits an engine, a
socket or the disk. What a turn announces waits until its writes are durable
(`announce.py`), as does starting a message being written. A message held by
moderation is woken for, not polled: after each turn one timer (`wake.py`)
puts a `Wake` in the inbox when the earliest hold or approval ends.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .actions import carry_out, flood_report
from .announce import Announcer, Reply, reply
from .core import playback as pb
from .core import records
from .core.events import Command, DeleteMessage, Incoming, PurgeUser
from .inbox import INBOX_SIZE, Ask, Halt, Inbox, Reload
from .journal.writer import JournalWriter, Written
from .settle import play_out, settle
from .views import Queries
from .wake import WakeTimer

if TYPE_CHECKING:
    from collections.abc import Callable

    from .audio.player import Player
    from .core.admission import Admission
    from .core.decisions import Decision
    from .journal import Journal

__all__ = ["INBOX_SIZE", "Conductor"]

log = logging.getLogger(__name__)
Decide = Ask | Incoming | Command | DeleteMessage | PurgeUser


class Conductor(Queries):
    def __init__(
        self,
        admission: Admission,
        player: Player,
        *,
        clock: Callable[[], float] | None = None,
        on_decision: Callable[[Any, Decision], None] | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.admission, self.player, self.playback = admission, player, pb.Playback()
        self.inbox = Inbox(INBOX_SIZE)
        self.writer = JournalWriter(journal, self.inbox.put) if journal else None
        self.announcer = Announcer(self.writer)
        player.attach(self.inbox.put)
        self.on_decision = on_decision
        self._clock = clock
        self.language_of: Callable[[str], str | None] | None = None  # voices.by_language
        self._idle = asyncio.Event()
        self._idle.set()
        self.wake = WakeTimer(self.inbox.put)

    def submit(self, event: object) -> bool:
        """Hand an event over without waiting; False if refused (a free one, inbox full)."""
        if self.language_of is not None and isinstance(event, Incoming) and event.message:
            event = replace(event, language=self.language_of(event.message))  # by_language
        if not self.inbox.put(event):
            log.error("conductor inbox full: free message refused (%s)", type(event).__name__)
            return False
        self._idle.clear()
        return True

    async def run(self) -> None:
        while True:
            item = await self.inbox.get()
            try:
                now = self._now()
                self._turn(item, now)
                self.wake.at(self.admission.next_deadline(now), now)
            except Exception as e:  # our bug: log it, keep serving
                log.exception("conductor failed on %r", item)
                if isinstance(item, Ask) and not item.answer.done():
                    item.answer.set_exception(e)
            if self._quiet():
                self._idle.set()

    def _quiet(self) -> bool:
        idle = self.playback.idle and not len(self.admission.queue)
        return idle and self.inbox.empty() and not self.announcer.unannounced

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def _turn(self, item: object, now: float) -> None:
        actions: list[pb.Action] = []
        replies: list[Reply] = []
        if isinstance(item, Written):
            self.announcer.written(item)
        elif isinstance(item, Decide):
            event = item.event if isinstance(item, Ask) else item
            decision = self.admission.decide(event, now, self.playback.on_air())
            actions = self.playback.handle(pb.Decided(decision), now)
            replies.append(reply(item, decision, self.admission, self.on_decision))
        elif isinstance(item, pb.Started | pb.Low | pb.Finished | pb.Cut | pb.Failed | pb.Lost):
            actions = self.playback.handle(item, now)
        elif isinstance(item, Reload):
            self.admission.update_rules(item.rules)
            self.player.volume = item.volume
        elif isinstance(item, Halt):
            actions = self.playback.handle(pb.Stop(), now)
        expired = self.admission.expire(now)  # approvals that ran out
        if expired is not None:
            actions += self.playback.handle(pb.Decided(expired), now)
        ops: list[records.Op] = []
        reports: list[pb.Report] = []
        carry_out(actions, self.admission, self.player, ops, reports)
        head = self.admission.peek(now) if self.playback.wants_next() else None
        if head is not None and not self.announcer.unwritten(head.id):
            message = self.admission.next_message(now)
            assert message is not None
            taken = self.playback.handle(pb.Taken(message), now)
            carry_out(taken, self.admission, self.player, ops, reports)
        candidate = self.admission.peek(now)
        if candidate is not None and not self.playback.stopping:
            self.player.prefetch(candidate)
        flood = self.admission.update_flood()
        if flood is not None:
            reports.append(flood_report(self.admission, flood))
        self.announcer.turn(ops, reports, replies)

    async def stop(self, *, grace_s: float = 0.0) -> None:
        """Start nothing new; let what plays finish for up to `grace_s`; flush the journal."""
        self.inbox.put(Halt())
        await play_out(self.playback, grace_s=grace_s)
        if self.writer is not None:  # written, then announced by the task (it still runs)
            await settle(self.writer, self.announcer, timeout_s=5.0)

    def close(self) -> None:
        """Finish pending journal writes (after the task has stopped)."""
        self.wake.cancel()
        if self.writer is not None:
            self.writer.close()
