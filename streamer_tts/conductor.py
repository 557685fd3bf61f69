"""The conductor: one task owns the admission core and steers the player.

Adapters (Twitch, the control API, the demo script) `submit()` events into a
bounded inbox without awaiting; the player's reports arrive in the same
inbox. One task takes them in order, asks `Admission` for a decision, logs
it, and tells the player what to play next. Nothing else touches either.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import logs
from .audio.player import Player, PlayerEvent
from .core.admission import Admission
from .core.decisions import Accepted, Control, Decision, Message, Rejected
from .core.events import Command, DeleteMessage, Incoming, PurgeUser
from .journal import Journal

__all__ = ["INBOX_SIZE", "Conductor", "log_decision"]

log = logging.getLogger(__name__)

# Far above any real burst (a raid's chat flood is rate-limited right after
# this): a full inbox means the conductor is stuck, which the watchdog catches.
INBOX_SIZE = 10_000


def log_decision(decision: Decision) -> None:
    """The event-log lines for one decision."""
    if isinstance(decision, Accepted):
        m = decision.message
        if decision.evicted is not None:
            logs.emit(logs.TTS_DROPPED, id=decision.evicted.id, reason="queue_full")
        logs.emit(
            logs.TTS_ACCEPTED,
            id=m.id,
            source=str(m.source),
            user=m.user,
            priority=str(m.priority),
            text=m.text,
            paid=m.paid,
            kind=m.meta.get("kind", ""),
        )
    elif isinstance(decision, Rejected):
        logs.emit(
            logs.TTS_REJECTED,
            id=decision.id,
            source=str(decision.source or ""),
            user=decision.user,
            reason=str(decision.reason),
            detail=decision.detail,
        )
    else:
        logs.emit(
            "tts.control",
            action=decision.action,
            user=decision.by,
            target=decision.target,
            detail=decision.detail,
        )
        for m in decision.dropped:
            logs.emit(logs.TTS_DROPPED, id=m.id, reason=decision.detail or decision.action)


def _describe(m: Message) -> dict[str, Any]:
    """The fields every view of a message shares (queue snapshot, history)."""
    return {
        "id": m.id,
        "user": m.user,
        "source": str(m.source),
        "priority": str(m.priority),
        "kind": m.meta.get("kind", ""),
    }


class _Ask:
    """An event whose decision someone awaits."""

    __slots__ = ("answer", "event")

    def __init__(self, event: object, answer: asyncio.Future[Decision]) -> None:
        self.event = event
        self.answer = answer


class Conductor:
    def __init__(
        self,
        admission: Admission,
        player: Player,
        *,
        clock: Callable[[], float] | None = None,
        on_decision: Callable[[Any, Decision], None] | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.admission = admission
        self.player = player
        self.journal = journal
        # SQLite is blocking I/O: one worker thread owns the connection
        self._db = ThreadPoolExecutor(1, thread_name_prefix="journal") if journal else None
        self.inbox: asyncio.Queue[object] = asyncio.Queue(INBOX_SIZE)
        self._clock = clock
        self.on_decision = on_decision
        self._low: set[str] = set()  # committed messages whose audio is nearly over
        self._cut_at: dict[str, float] = {}  # skip command time, for tts.silenced
        self._idle = asyncio.Event()
        self._idle.set()
        self.stopping = False

    # --- the adapters' side ----------------------------------------------------

    def submit(self, event: object) -> bool:
        """Hand an event over without waiting; False if the inbox is full."""
        try:
            self.inbox.put_nowait(event)
        except asyncio.QueueFull:
            log.error("conductor inbox full: event dropped (%s)", type(event).__name__)
            return False
        self._idle.clear()
        return True

    async def drained(self) -> None:
        """Wait until the inbox is empty and nothing is queued or playing."""
        while True:
            await self._idle.wait()
            if self._quiet():
                return
            self._idle.clear()

    # --- the one task ------------------------------------------------------------

    async def run(self) -> None:
        self.player.notify = self._from_player
        while True:
            item = await self.inbox.get()
            try:
                if isinstance(item, PlayerEvent):
                    await self._player_event(item)
                elif isinstance(item, _Ask):
                    decision = await self._event(item.event)
                    if not item.answer.done():
                        item.answer.set_result(decision)
                elif isinstance(item, Incoming | Command | DeleteMessage | PurgeUser):
                    await self._event(item)
                await self._advance()
            except Exception as e:  # our bug: log it, keep serving
                log.exception("conductor failed on %r", item)
                if isinstance(item, _Ask) and not item.answer.done():
                    item.answer.set_exception(e)
            if self._quiet():
                self._idle.set()

    def _quiet(self) -> bool:
        """Nothing in the inbox, nothing queued, nothing in the feed."""
        return self.inbox.empty() and not self.player.committed and not len(self.admission.queue)

    async def record(self, method: str, *args: Any, **kwargs: Any) -> None:
        """Write one step to the journal (off the loop); a failure is logged, not fatal."""
        if self.journal is None:
            return
        try:
            await self._in_db(getattr(self.journal, method), *args, **kwargs)
        except Exception as e:
            logs.emit("journal.failed", call=method, error=f"{e.__class__.__name__}: {e}"[:300])

    async def _in_db(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a journal call on the one thread that owns the connection."""
        assert self._db is not None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db, functools.partial(call, *args, **kwargs))

    def _from_player(self, event: PlayerEvent) -> None:
        self.inbox.put_nowait(event)

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def snapshot(self) -> dict[str, Any]:
        """What is playing and what waits, in play order (for the control API)."""
        now = self._now()

        def row(m: Message) -> dict[str, Any]:
            waited_s = round(max(0.0, now - m.enqueued_at), 1)
            return {**_describe(m), "paid": m.paid, "text": m.text, "waited_s": waited_s}

        playing = self.admission.playing
        return {
            "playing": row(playing) if playing is not None else None,
            "paused": self.player.paused,
            "queue": [row(m) for m in self.admission.queue.snapshot(now)],
        }

    async def history(self, limit: int = 50) -> list[dict[str, Any]]:
        """Recently ended messages, newest first, from the journal (empty without one)."""
        if self.journal is None:
            return []
        entries = await self._in_db(self.journal.history, limit)
        return [
            {
                **_describe(e.message),
                "text": e.message.spoken or e.message.text,
                "state": str(e.state),
                "ended_at_s": e.ended_at_s,
            }
            for e in entries
        ]

    async def ask(self, event: object, timeout_s: float = 10.0) -> Decision:
        """Submit an event and wait for its decision (the control API's replies)."""
        answer: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        if not self.submit(_Ask(event, answer)):
            raise RuntimeError("the conductor's inbox is full")
        return await asyncio.wait_for(answer, timeout_s)

    async def _event(self, event: object) -> Decision:
        decision = self.admission.decide(event, self._now())  # type: ignore[arg-type]
        if isinstance(decision, Accepted):  # durable before it is announced
            if decision.evicted is not None:
                await self.record("mark_dropped", decision.evicted.id, "queue_full")
            await self.record("record_accepted", decision.message)
        elif isinstance(decision, Control):
            for m in decision.dropped:
                await self.record("mark_dropped", m.id, decision.detail or decision.action)
            if decision.action == "ban":
                await self.record("ban", decision.target, decision.by)
            elif decision.action == "unban":
                await self.record("unban", decision.target)
        log_decision(decision)
        if self.on_decision is not None:
            self.on_decision(event, decision)
        if isinstance(decision, Accepted):
            if decision.evicted is not None:
                await self.player.forget(decision.evicted.id)
            if decision.message.interrupt:
                await self._interrupt(decision.message)
        elif isinstance(decision, Control):
            await self._control(decision)
        return decision

    async def _control(self, control: Control) -> None:
        for m in control.dropped:
            await self.player.cut(m.id)  # committed behind the current, or prefetched
            self._low.discard(m.id)
        if control.skip_id:
            self._cut_at[control.skip_id] = time.monotonic()
        if control.skip_id and await self.player.cut(control.skip_id):
            by = control.by if control.action != "drop" else f"twitch:{control.detail}"
            await self.record("mark_skipped", control.skip_id, by)
            logs.emit(logs.TTS_SKIPPED, id=control.skip_id, by=by)
            self.admission.finished(control.skip_id)
            self._low.discard(control.skip_id)
        if control.action == "pause":
            self.player.pause()
        elif control.action == "resume":
            self.player.resume()  # _advance() runs next and commits the best message

    async def _interrupt(self, arrival: Message) -> None:
        """Cut what is committed below the arrival; it goes back to the queue."""
        playing = self.admission.playing
        if playing is None or playing.priority >= arrival.priority:
            return
        for message_id in reversed(list(self.player.committed)):
            message = self.admission.taken.get(message_id)
            await self.player.cut(message_id)
            self._low.discard(message_id)
            if message is not None:
                self.admission.requeue(message)
                await self.record("requeue", message_id)
                logs.emit("tts.interrupted", id=message_id, by=arrival.id)

    async def _player_event(self, event: PlayerEvent) -> None:
        mid = event.message_id
        if event.kind == "started":
            fields: dict[str, Any] = {"id": mid, "engine": event.engine}
            if event.first_audio_ms is not None:
                fields["first_audio_ms"] = round(event.first_audio_ms, 1)
            message = self.admission.started(mid)
            if message is not None:
                fields |= {"user": message.user, "text": message.spoken}
                await self.record("mark_playing", mid, spoken=message.spoken)
            logs.emit(logs.TTS_STARTED, **fields)
        elif event.kind == "low":
            self._low.add(mid)
        elif event.kind == "failed":
            logs.emit(logs.TTS_FAILED, id=mid, engine=event.engine, error=event.error)
        elif event.kind in ("finished", "cut"):
            self._low.discard(mid)
            cut_at = self._cut_at.pop(mid, None)
            if event.kind == "cut" and cut_at is not None:  # the fade is over: silence
                logs.emit(
                    "tts.silenced", id=mid, after_ms=round((time.monotonic() - cut_at) * 1000, 1)
                )
            if event.kind == "finished" and mid in self.admission.taken:
                extra = {"truncated": True} if event.truncated else {}
                await self.record("mark_finished", mid)
                logs.emit(logs.TTS_FINISHED, id=mid, **extra)
            self.admission.finished(mid)

    # --- what plays next -----------------------------------------------------------

    async def _advance(self) -> None:
        """Commit the next message when the feed is idle or the current one ends.

        The choice is made as late as possible (a higher-priority arrival still
        goes first); what will likely come next is synthesised in advance.
        """
        if self.stopping:
            return
        committed = self.player.committed
        if self.player.paused and not committed:
            pass  # paused: the choice waits for resume, so priority still counts then
        elif not committed or (len(committed) == 1 and committed[0] in self._low):
            message = self.admission.next_message(self._now())
            if message is not None:
                self.player.play(message)
        candidate = self.admission.peek(self._now())
        if candidate is not None:
            self.player.prefetch(candidate)

    async def stop(self, *, grace_s: float = 0.0) -> None:
        """Stop taking new messages; let the current one finish up to `grace_s`."""
        self.stopping = True
        if grace_s > 0 and self.player.committed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._until_silent(), grace_s)

    def close(self) -> None:
        """Finish pending journal writes (after the task has stopped)."""
        if self._db is not None:
            self._db.shutdown(wait=True)

    async def _until_silent(self) -> None:
        while self.player.committed:
            await asyncio.sleep(0.05)
