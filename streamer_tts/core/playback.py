"""The playback state machine: what is playing, as data. Inputs in, actions out.

As h11 never touches a socket, `Playback` never touches the player: the
conductor feeds it what happened (a decision, a message taken from the
queue, the player's reports) with the current time, and carries out the
actions it returns (cut this, play that, write this, log that). It alone
owns what is taken, committed, playing, low, cut and paused, so those
answers have one owner.

Promises (property-tested in tests/core/test_playback.py):

* at most two messages are committed to the player, and a second only
  behind one whose audio is nearly over (so two never sound at once);
* a message cut (skipped, dropped, interrupted) is never reported finished;
* every taken message ends exactly once: finished, skipped, dropped,
  failed or interrupted (back to the queue, taken again later).
"""

from __future__ import annotations

from collections import OrderedDict

from . import records
from .admission import OnAir
from .decisions import Accepted, Control, ControlAction, Decision, Message, Rejected
from .playback_events import (
    Action,
    Cut,
    CutAudio,
    Decided,
    Failed,
    Finished,
    Forget,
    Input,
    Lost,
    Low,
    Note,
    PauseAudio,
    Play,
    Record,
    Report,
    Requeue,
    ResumeAudio,
    Started,
    Stop,
    Taken,
)

__all__ = [
    "AUDIO_LOST_REASON",
    "MAX_CUT_MARKS",
    "Action",
    "Cut",
    "CutAudio",
    "Decided",
    "Failed",
    "Finished",
    "Forget",
    "Input",
    "Lost",
    "Low",
    "Note",
    "PauseAudio",
    "Play",
    "Playback",
    "Record",
    "Report",
    "Requeue",
    "ResumeAudio",
    "Started",
    "Stop",
    "Taken",
]

AUDIO_LOST_REASON = "audio_lost"
"""Why a free message cut by a lost output device is not read again."""
# Cut times kept for the `silenced` report; a cut whose fade is never
# reported (the player closed) must not hold memory forever.
MAX_CUT_MARKS = 64


# --- the machine ---------------------------------------------------------------


class Playback:
    def __init__(self) -> None:
        self._taken: dict[str, Message] = {}  # committed to the player, in play order
        self._playing: Message | None = None  # the one heard (started)
        self._low: set[str] = set()
        self._cut_at: OrderedDict[str, float] = OrderedDict()
        self.paused = False
        self.stopping = False

    # --- what others may read -------------------------------------------------

    @property
    def playing(self) -> Message | None:
        return self._playing

    @property
    def committed(self) -> tuple[str, ...]:
        return tuple(self._taken)

    def on_air(self) -> OnAir:
        """The view Admission decides skips and drops with."""
        return OnAir(self._playing, dict(self._taken))

    @property
    def idle(self) -> bool:
        return not self._taken

    def wants_next(self) -> bool:
        """Whether to take a message now: the feed is idle (and not paused), or
        the one message committed is nearly over, so the next follows gaplessly."""
        if self.stopping:
            return False
        if not self._taken:
            return not self.paused
        return len(self._taken) == 1 and next(iter(self._taken)) in self._low

    # --- the one entry point --------------------------------------------------

    def handle(self, event: Input, now: float) -> list[Action]:
        if isinstance(event, Decided):
            return self._decided(event.decision, now)
        if isinstance(event, Taken):
            return self._take(event.message)
        if isinstance(event, Started):
            return self._started(event)
        if isinstance(event, Low):
            if event.id in self._taken:
                self._low.add(event.id)
            return []
        if isinstance(event, Finished):
            return self._finished(event)
        if isinstance(event, Cut):
            return self._cut_done(event.id, now)
        if isinstance(event, Failed):
            return self._failed(event)
        if isinstance(event, Lost):
            return self._lost(event.id, now)
        self.stopping = True
        return []

    # --- inside ---------------------------------------------------------------

    def _end(self, message_id: str) -> Message | None:
        message = self._taken.pop(message_id, None)
        self._low.discard(message_id)
        if self._playing is not None and self._playing.id == message_id:
            self._playing = None
        return message

    def _take(self, message: Message) -> list[Action]:
        if message.id in self._taken or self.stopping:
            return []
        self._taken[message.id] = message
        return [Play(message)]

    def _started(self, event: Started) -> list[Action]:
        message = self._taken.get(event.id)
        if message is None:
            return []  # a late report of a segment already let go of
        self._playing = message
        fields: dict[str, object] = {"id": event.id, "engine": event.engine}
        if event.first_audio_ms is not None:
            fields["first_audio_ms"] = round(event.first_audio_ms, 1)
        fields |= {"user": message.user, "text": message.spoken}
        if message.voice is not None:
            fields["voice"] = message.voice
        if message.sound is not None:
            fields["sound"] = message.sound
        return [
            Record(records.MarkPlaying(event.id, spoken=message.spoken)),
            Report(Note.STARTED, fields),
        ]

    def _finished(self, event: Finished) -> list[Action]:
        if self._end(event.id) is None:
            return []  # cut, dropped or ended already: never "finished"
        extra = {"truncated": True} if event.truncated else {}
        return [
            Record(records.MarkFinished(event.id)),
            Report(Note.FINISHED, {"id": event.id, **extra}),
        ]

    def _cut_done(self, message_id: str, now: float) -> list[Action]:
        actions: list[Action] = []
        cut_at = self._cut_at.pop(message_id, None)
        if cut_at is not None:
            after_ms = round((now - cut_at) * 1000, 1)
            actions.append(Report(Note.SILENCED, {"id": message_id, "after_ms": after_ms}))
        message = self._end(message_id)
        if message is not None:  # cut by the player itself (closing): heard in part, read again
            actions += self._back_to_queue(message, "player")
        return actions

    def _failed(self, event: Failed) -> list[Action]:
        fields: dict[str, object] = {"id": event.id, "engine": event.engine, "error": event.error}
        if not event.final:
            return [Report(Note.FAILED, fields)]
        if self._end(event.id) is None:
            return []
        return [
            Record(records.MarkFailed(event.id, event.error)),
            Report(Note.FAILED, {**fields, "final": True}),
        ]

    def _lost(self, message_id: str, now: float) -> list[Action]:
        """The device went away mid-message: a paid one is read again, whole,
        once audio is back; a free one ends here (it was partly heard)."""
        message = self._taken.get(message_id)
        if message is None:
            return []
        actions = self._cut(message_id, now)
        if message.paid:
            return actions + self._back_to_queue(message, AUDIO_LOST_REASON)
        return [
            *actions,
            Record(records.MarkDropped(message_id, AUDIO_LOST_REASON)),
            Report(Note.DROPPED, {"id": message_id, "reason": AUDIO_LOST_REASON}),
        ]

    def _cut(self, message_id: str, now: float, *, mark: bool = False) -> list[Action]:
        """Cut a committed message; with `mark`, report the silence after the fade."""
        if mark and self._playing is not None and self._playing.id == message_id:
            self._cut_at[message_id] = now
            while len(self._cut_at) > MAX_CUT_MARKS:
                self._cut_at.popitem(last=False)
        self._end(message_id)
        return [CutAudio(message_id)]

    def _back_to_queue(self, message: Message, by: str) -> list[Action]:
        return [
            Requeue(message),
            Record(records.Requeue(message.id)),
            Report(Note.INTERRUPTED, {"id": message.id, "by": by}),
        ]

    def _decided(self, decision: Decision, now: float) -> list[Action]:
        if isinstance(decision, Accepted):
            return self._accepted(decision, now)
        if isinstance(decision, Rejected):
            return [
                Report(
                    Note.REJECTED,
                    {
                        "id": decision.id,
                        "source": str(decision.source or ""),
                        "user": decision.user,
                        "reason": str(decision.reason),
                        "detail": decision.detail,
                    },
                )
            ]
        return self._control(decision, now)

    def _accepted(self, decision: Accepted, now: float) -> list[Action]:
        m = decision.message
        actions: list[Action] = []
        if decision.evicted is not None:
            gone = decision.evicted.id
            actions += [
                Forget(gone),
                Record(records.MarkDropped(gone, "queue_full")),
                Report(Note.DROPPED, {"id": gone, "reason": "queue_full"}),
            ]
        actions += [
            Record(records.Accept(m, held=decision.held)),
            Report(
                Note.ACCEPTED,
                {
                    "id": m.id,
                    "source": str(m.source),
                    "user": m.user,
                    "priority": str(m.priority),
                    "text": m.text,
                    "paid": m.paid,
                    "kind": m.meta.get("kind", ""),
                    **({"voice": m.voice} if m.voice is not None else {}),
                    **({"sound": m.sound} if m.sound is not None else {}),
                },
            ),
        ]
        if decision.held:  # out of the queue until a moderator approves it
            fields = {"id": m.id, "source": str(m.source), "user": m.user, "text": m.text}
            return [*actions, Report(Note.HELD, fields)]
        playing = self._playing
        if m.interrupt and playing is not None and playing.priority < m.priority:
            # everything committed goes back: the playing one and any behind it
            for message_id in reversed(list(self._taken)):
                message = self._taken[message_id]
                actions += self._cut(message_id, now)
                actions += self._back_to_queue(message, m.id)
        return actions

    def _control(self, control: Control, now: float) -> list[Action]:
        action = control.action
        actions: list[Action] = [
            Report(
                Note.CONTROL,
                {
                    "action": str(action),
                    "user": control.by,
                    "target": control.target,
                    "detail": control.detail,
                },
            )
        ]
        if control.approved is not None:
            approved = control.approved.id
            actions += [
                Record(records.Approve(approved)),
                Report(Note.APPROVED, {"id": approved, "by": control.by}),
            ]
        for m in control.dropped:
            if m.id in self._taken:
                actions += self._cut(m.id, now)  # committed behind the one playing
            else:
                actions.append(Forget(m.id))  # waiting, maybe prefetched
            # an approval that made room (or found none) drops for room
            reason = "queue_full" if action is ControlAction.APPROVE else control.detail
            reason = reason or str(action)
            actions += [
                Record(records.MarkDropped(m.id, reason)),
                Report(Note.DROPPED, {"id": m.id, "reason": reason}),
            ]
        skip = control.skip_id
        if skip and skip in self._taken:
            by = f"twitch:{control.detail}" if action is ControlAction.DROP else control.by
            actions += self._cut(skip, now, mark=True)
            actions += [
                Record(records.MarkSkipped(skip, by)),
                Report(Note.SKIPPED, {"id": skip, "by": by}),
            ]
        if action is ControlAction.PAUSE and not self.paused:
            self.paused = True
            actions.append(PauseAudio())
        elif action is ControlAction.RESUME and self.paused:
            self.paused = False
            actions.append(ResumeAudio())
        elif action is ControlAction.BAN:
            actions.append(Record(records.BanUser(control.target, control.by)))
        elif action is ControlAction.UNBAN:
            actions.append(Record(records.UnbanUser(control.target)))
        elif action in (ControlAction.SAY, ControlAction.UNSAY):
            actions.append(
                Record(records.SetPronunciation(control.target, control.value, control.by))
            )
        elif action in (ControlAction.NICK, ControlAction.SELF_NICK):
            actions.append(Record(records.SetNickname(control.target, control.value, control.by)))
        elif control.voice is not None and control.target:  # !voice, !ttsvoice
            actions.append(Record(records.SetVoice(control.target, control.voice or None)))
        return actions
