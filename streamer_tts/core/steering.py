"""Commands and moderation: what they take out, and what they answer.

`Admission.decide` hands every `Command`, deleted message and purged user
here; these functions read and change the admission's queue, approvals, ban
list and voice choices and answer with a `Control` for the player (or a
`Rejected` when a command is not allowed). Apart from admission, which keeps
deciding what is read, so each file holds one of the two jobs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .decisions import Control, ControlAction, Reason, Rejected
from .events import (
    Approve,
    Ban,
    Clear,
    Nick,
    Pause,
    QueueQuery,
    Reject,
    Remove,
    Resume,
    Say,
    Skip,
    Source,
    Unban,
    Unsay,
    UserVoice,
    Voice,
)
from .voices import set_voice

if TYPE_CHECKING:
    from collections.abc import Callable

    from .admission import Admission, OnAir
    from .decisions import Message
    from .events import Command

__all__ = ["command", "drop", "from_twitch", "queue_reply", "take_out"]

_TWITCH_SOURCES = frozenset(
    {Source.CHAT, Source.CHEER, Source.SUBSCRIPTION, Source.GIFT}
    | {Source.REDEMPTION, Source.RAID, Source.FOLLOW}
)


def from_twitch(message: Message) -> bool:
    """Its `user` is a Twitch login. Donors, tips and announcements carry names
    from outside, which a login must never match (a new source is outside too)."""
    return message.source in _TWITCH_SOURCES


def command(adm: Admission, command: Command, now: float, on_air: OnAir) -> Control | Rejected:
    """A chat or API command, checked against the permissions, then done."""
    by = command.by
    playing = on_air.playing
    if not adm.rules.permissions.allows(by, command.name):
        own_skip = (
            isinstance(command, Skip)
            and playing is not None
            and playing.user == by.login
            and from_twitch(playing)
        )
        if not own_skip:
            return Rejected(Reason.NOT_ALLOWED, None, by.login, detail=f"{command.name}")
    action, login = ControlAction(command.name), by.login
    if isinstance(command, Skip):
        return Control(action, login, skip_id=playing.id if playing else "")
    if isinstance(command, Clear):
        paid_too = adm.rules.clear_drops_paid
        dropped = take_out(adm, lambda m: paid_too or not m.paid, on_air)
        return Control(action, login, dropped=dropped, detail=f"cleared {len(dropped)}")
    if isinstance(command, Pause | Resume):
        return Control(action, login)
    if isinstance(command, QueueQuery):
        return Control(action, login, detail=queue_reply(adm, login, now))
    if isinstance(command, Ban):
        target = command.target
        adm.banned.add(target)
        dropped = take_out(
            adm, lambda m: m.user == target and not m.paid and from_twitch(m), on_air
        )
        mine = (
            playing is not None
            and playing.user == target
            and not playing.paid
            and from_twitch(playing)
        )
        skip = playing.id if mine and playing is not None else ""
        return Control(action, login, target, skip, dropped, "banned from TTS")
    if isinstance(command, Remove):
        target = command.target
        dropped = take_out(adm, lambda m: m.id == target, on_air)
        skip = playing.id if playing is not None and playing.id == target else ""
        return Control(action, login, target, skip, dropped, "removed")
    if isinstance(command, Unban):
        adm.banned.discard(command.target)
        return Control(action, login, command.target, detail="unbanned")
    if isinstance(command, Say | Unsay | Nick):
        return adm.lexicon.command(command, adm.rules)
    if isinstance(command, Approve | Reject):
        return _approval(adm, command, now)
    if isinstance(command, Voice):
        return set_voice(adm.rules.voices, adm.voices, action, by, by.login, command.alias)
    if isinstance(command, UserVoice):
        return set_voice(
            adm.rules.voices, adm.voices, action, by, command.target, command.alias, own=False
        )
    raise TypeError(f"unknown command {command!r}")  # pragma: no cover - a bug


def _approval(adm: Admission, command: Approve | Reject, now: float) -> Control:
    action, by = ControlAction(command.name), command.by.login
    message = adm.approvals.find(command.target)
    if message is None:
        return Control(action, by, command.target, detail="no such message awaits approval")
    adm.approvals.take(message.id)
    if isinstance(command, Reject):
        return Control(action, by, message.id, dropped=(message,), detail="rejected")
    message.seq, message.enqueued_at = adm.next_seq(), now  # it joins the queue now
    admitted, evicted = adm.queue.offer(message)
    if not admitted:
        return Control(action, by, message.id, dropped=(message,), detail="queue_full")
    dropped = (evicted,) if evicted is not None else ()
    detail = f"approved {message.user}"
    return Control(action, by, message.id, dropped=dropped, detail=detail, approved=message)


def queue_reply(adm: Admission, login: str, now: float) -> str:
    """`!ttsqueue`'s answer: how many wait, where the asker is, what awaits approval."""
    order = adm.queue.snapshot(now)
    mine = [i for i, m in enumerate(order, 1) if m.user == login and from_twitch(m)]
    waiting = f"{len(order)} waiting"
    reply = f"{waiting}; you are #{mine[0]}" if mine else waiting
    held = list(adm.approvals)
    if held:  # numbered as `!ttsok <n>` takes them
        listed = ", ".join(f"#{n} {m.user}" for n, m in enumerate(held[:5], 1))
        more = " ..." if len(held) > 5 else ""
        reply += f"; awaiting approval: {listed}{more}"
    return reply


def drop(
    adm: Admission, match: Callable[[Message], bool], reason: str, target: str, on_air: OnAir
) -> Control:
    """Moderation on Twitch's side: drop matching messages, cut one playing."""
    dropped = take_out(adm, match, on_air)
    playing = on_air.playing
    skip = playing.id if playing is not None and match(playing) else ""
    return Control(ControlAction.DROP, "twitch", target, skip, dropped, reason)


def take_out(
    adm: Admission, match: Callable[[Message], bool], on_air: OnAir
) -> tuple[Message, ...]:
    """Remove matching waiting messages, and taken ones not yet heard
    (the playback stops those: they are in `dropped` too)."""
    dropped = [m for m in list(adm.queue) if match(m)]
    for m in dropped:
        adm.queue.remove(m.id)
    dropped += adm.approvals.take_matching(match)
    playing = on_air.playing
    for m in on_air.taken.values():
        if m is not playing and match(m):
            dropped.append(m)
    return tuple(dropped)
