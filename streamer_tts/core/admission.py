"""Admission: every event in, exactly one decision out.

`Admission` owns the queue, the limits, the TTS ban list and the set of seen
message ids. It is fed events with the current time and answers with an
`Accepted`, a `Rejected` (reason from the fixed set) or a `Control` for the
player. No I/O, no clock, no asyncio: the conductor calls it from one task.

What is playing is not Admission's: `core/playback.py` owns it, and the
conductor passes a view of it (`OnAir`) to the decisions that need it (a
skip, a moderator dropping a user's messages).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .decisions import (
    Accepted,
    Control,
    ControlAction,
    Decision,
    Message,
    Priority,
    Reason,
    Rejected,
)
from .events import (
    Announce,
    Approve,
    Ban,
    ChatTTS,
    Cheer,
    Clear,
    Command,
    DeleteMessage,
    Donation,
    FragmentKind,
    GiftSubs,
    Incoming,
    Nick,
    Pause,
    PurgeUser,
    QueueQuery,
    Raid,
    Redemption,
    Reject,
    Remove,
    Resume,
    Say,
    Skip,
    Source,
    Subscription,
    Unban,
    Unsay,
    UserVoice,
    Voice,
)
from .fields import clean_field
from .filters import clean
from .limits import GateFactory, Limits
from .moderation import Approvals, Flood
from .money import format_amount, spoken_amount, to_bits
from .nicknames import Lexicon
from .queue import MessageQueue
from .rules import NameMode, Rules, render
from .voices import MAX_VOICES, choose, inline_meta, set_voice

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

__all__ = ["MAX_SEEN_IDS", "MAX_VOICES", "Admission", "OnAir"]

# Twitch redelivers within minutes and both cheer subscriptions arrive within
# seconds of each other; this many ids covers hours of a busy channel.
MAX_SEEN_IDS = 50_000
# The same payment reported by two subscriptions arrives seconds apart.
PAIR_WINDOW_S = 120.0
MAX_PAIR_KEYS = 10_000


@dataclass(frozen=True, slots=True)
class OnAir:
    """The playback's side, as the decisions see it: the message being heard
    and every message taken out of the queue (committed or heard)."""

    playing: Message | None = None
    taken: Mapping[str, Message] = field(default_factory=dict[str, Message])


_NOTHING = OnAir()


class Admission:
    def __init__(
        self,
        rules: Rules,
        gate_factory: GateFactory,
        *,
        banned: Iterable[str] = (),
        lexicon: Lexicon | None = None,
        voices: Mapping[str, str] | None = None,
    ) -> None:
        self.rules = rules
        self._gates = gate_factory
        self.limits = Limits(rules.limits, gate_factory)
        self.queue = MessageQueue(rules.queue_max_size, rules.aging_seconds)
        self.banned: set[str] = {b.lower() for b in banned}
        self.lexicon = lexicon if lexicon is not None else Lexicon()  # nicknames, respellings
        self.voices: OrderedDict[str, str] = OrderedDict(voices or {})  # login -> alias
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._pairs: OrderedDict[tuple[object, ...], list[tuple[str, float]]] = OrderedDict()
        self._seq = 0
        self._last_speaker: str | None = None
        self.approvals = Approvals()
        self.flood = Flood(rules.flood_threshold)

    # --- configuration -------------------------------------------------------

    def update_rules(self, rules: Rules) -> None:
        """Take new rules (config reload) without losing the queue."""
        if rules.limits != self.rules.limits:
            self.limits = Limits(rules.limits, self._gates)
        self.queue.max_size = rules.queue_max_size
        self.queue.aging_seconds = rules.aging_seconds
        self.flood.threshold = rules.flood_threshold
        self.rules = rules

    # --- the one entry point -------------------------------------------------

    def decide(
        self,
        event: Incoming | Command | DeleteMessage | PurgeUser,
        now: float,
        on_air: OnAir = _NOTHING,
    ) -> Decision:
        if isinstance(event, Incoming):
            return self._admit(event, now, on_air)
        if isinstance(event, Command):
            return self._command(event, now, on_air)
        if isinstance(event, DeleteMessage):
            match_id = event.message_id
            return self._drop(lambda m: m.id == match_id, "deleted", match_id, on_air)
        login = event.login
        return self._drop(
            lambda m: m.user == login and _from_twitch(m), event.reason, login, on_air
        )

    def withdraw(self, message_id: str, evicted: Message | None = None) -> Message | None:
        """Undo an acceptance that could not be made durable (the caller will
        retry): out of the queue, not a duplicate when it comes back, and the
        message it evicted back in its place."""
        self._seen.pop(message_id, None)
        message = self.queue.remove(message_id) or self.approvals.take(message_id)
        if message is not None and evicted is not None and evicted.id not in self.queue:
            self.queue.restore(evicted)
        return message

    # --- restart ---------------------------------------------------------------

    def remember(self, ids: Iterable[str]) -> None:
        """Ids accepted by a previous run: a redelivery is still a duplicate."""
        for message_id in ids:
            self._seen[message_id] = None
        while len(self._seen) > MAX_SEEN_IDS:
            self._seen.popitem(last=False)

    def restore(self, messages: Iterable[Message]) -> None:
        """Put back messages a previous run accepted, in the given order.

        They were accepted once: no limit or bound applies again (a free
        message beyond `queue_max_size` still waits its turn).
        """
        for message in messages:
            if message.id not in self.queue:
                self.queue.restore(message)
                self._seen[message.id] = None

    def restore_held(self, messages: Iterable[Message], now: float) -> None:
        """Put back messages a previous run held for approval; the mods get
        the whole approval time again."""
        for message in messages:
            if message.id not in self.approvals:
                self.approvals.hold(message, now + self.rules.approval_timeout_seconds)
                self._seen[message.id] = None

    def expire(self, now: float) -> Control | None:
        """Drop the held messages whose approval ran out (`not_approved`)."""
        gone = self.approvals.expired(now)
        if not gone:
            return None
        return Control(ControlAction.DROP, "moderation", "", "", tuple(gone), "not_approved")

    def update_flood(self) -> bool | None:
        """Flood mode after this turn: True (on), False (off), None (unchanged)."""
        return self.flood.update(self.queue.free_waiting())

    def next_deadline(self, now: float) -> float | None:
        """When something changes by time alone: a hold or an approval runs out."""
        ends = (self.queue.next_ready(now), self.approvals.next_deadline())
        times = [t for t in ends if t is not None]
        return min(times) if times else None

    # --- player side ---------------------------------------------------------

    def next_message(self, now: float) -> Message | None:
        """Take the next message for the player and choose the text to read."""
        message = self.queue.pop(now)
        if message is None:
            return None
        mode = self.rules.read_usernames
        bare = message.text_bare and (
            self.flood.on  # in a flood, names are not read
            or mode is NameMode.NEVER
            or (mode is NameMode.ON_CHANGE and self._last_speaker == message.user)
        )
        message.spoken = self.lexicon.speak(message.text_bare if bare else message.text, self.rules)
        self._last_speaker = message.user
        return message

    def peek(self, now: float) -> Message | None:
        return self.queue.peek(now)

    def requeue(self, message: Message) -> None:
        """An interrupted message goes back to the head of its level."""
        if message.id not in self.queue:
            self.queue.push_front(message)

    # --- inside --------------------------------------------------------------

    def _admit(self, event: Incoming, now: float, on_air: OnAir) -> Decision:
        rules = self.rules
        source, user, paid = event.source, event.user, event.paid

        def reject(reason: Reason, detail: str = "") -> Rejected:
            return Rejected(reason, source, user.login, event.id, detail)

        if (
            event.id in self._seen
            or event.id in self.queue
            or event.id in on_air.taken
            or event.id in self.approvals
        ):
            if event.id in self._seen:
                self._seen.move_to_end(event.id)
            return reject(Reason.DUPLICATE)
        self._seen[event.id] = None
        if len(self._seen) > MAX_SEEN_IDS:
            self._seen.popitem(last=False)
        if self._paired(event, now):
            return reject(Reason.DUPLICATE, "already reported by another subscription")

        rule = rules.sources[source]
        if not rule.enabled:
            return reject(Reason.DISABLED, f"{source} is off")
        if user.login in rules.ignore_users and not user.external:
            return reject(Reason.IGNORED_USER)
        banned = user.login in self.banned and not user.external
        if banned and not paid:
            return reject(Reason.BANNED_USER)
        if (
            isinstance(event, ChatTTS)
            and not event.unprompted  # read-all chat: its roles are `sources.chat.roles`
            and not rules.permissions.allows(user, "tts")
        ):
            return reject(Reason.NOT_ALLOWED, "tts needs a higher role")
        if (
            isinstance(event, Redemption)
            and rules.reward_titles
            and event.reward_title.strip().lower() not in rules.reward_titles
        ):
            return reject(Reason.DISABLED, "not a TTS reward")
        if isinstance(event, Raid) and event.viewers < rules.raid_min_viewers:
            return reject(Reason.DISABLED, "raid below raid_min_viewers")

        bits = self._bits(event)
        tier = rules.tiers.match(bits) if isinstance(event, Cheer | Donation) else None
        if isinstance(event, Cheer | Donation) and tier is None:
            return reject(Reason.TOO_FEW_BITS, f"{bits} bits < {rules.tiers.minimum_bits}")

        if not self.limits.exempt(paid):
            cap = rules.limits.max_pending_per_user
            if cap is not None and self.queue.pending_for(user.login) >= cap:
                return reject(Reason.USER_LIMIT, f"{cap} already waiting")
            limited = self.limits.check(user, now)
            if limited is not None:
                return reject(limited)

        body = ""
        if event.message and not banned:
            cleaned = clean(
                event.message,
                rules.filters,
                cheermotes=[f.text for f in event.fragments if f.kind is FragmentKind.CHEERMOTE],
                emotes=[f.text for f in event.fragments if f.kind is FragmentKind.EMOTE],
            )
            if cleaned.reason is not None and not paid:
                return reject(cleaned.reason, cleaned.detail)
            body = cleaned.text  # paid: a refused text still leaves the thanks
        if (
            not body
            and not paid
            and (source.value in ("chat", "redemption") or isinstance(event, Announce))
        ):
            return reject(Reason.EMPTY)

        name = self.lexicon.name_of(user)
        if isinstance(event, Donation):
            name = clean_field(name, rules.name_max_length)
            name = clean(name, rules.filters).text[: rules.name_max_length] or "someone"
        values = self._values(event, name, body, bits)
        if isinstance(event, Announce):  # the streamer's own words: no template
            text, bare = body, ""
        elif getattr(event, "private", False) and rule.template_private:
            text, bare = render(rule.template_private, values), ""
        else:
            text = render(rule.template, values)
            bare = render(rule.template_no_name, values) if rule.template_no_name else ""
        if not text:
            return reject(Reason.EMPTY)

        self._seq += 1
        message = Message(
            id=event.id,
            source=source,
            user=user.login,
            name=name,
            priority=(
                Priority.parse(event.priority)
                if isinstance(event, Announce)
                else tier.priority
                if tier
                else rule.priority
            ),
            text=text,
            text_bare=bare,
            paid=paid,
            seq=self._seq,
            enqueued_at=now,
            interrupt=bool(tier and tier.interrupt),
            voice=choose(
                rules.voices,
                user,
                chosen=self.voices.get(user.login) if not user.external else None,
                source=rule.voice,
                override=self._override_voice(event, tier),
                language=getattr(event, "language", None),
            ),
            bits=bits,
        )
        message.meta["kind"] = _kind(event, bits)
        message.spoken = self.lexicon.speak(text, rules)  # a prefetch reads it before the pop
        if body and not isinstance(event, Announce) and not user.external:
            message.meta |= inline_meta(rules.voices, event, body, rule, values)
        if user.role in rules.approval.get(source, ()):  # a donor counts as everyone
            if len(self.approvals) >= rules.queue_max_size and not paid:
                return reject(Reason.QUEUE_FULL, "too many waiting for approval")
            self.approvals.hold(message, now + rules.approval_timeout_seconds)
            return Accepted(message, held=True)
        if self.flood.on and not paid and message.priority < rules.flood_min_priority:
            return reject(Reason.FLOOD, f"more than {rules.flood_threshold} waiting")
        if rules.hold_seconds > 0 and (rules.hold_paid or not paid):
            message.ready_at = now + rules.hold_seconds  # mods may still delete it
        admitted, evicted = self.queue.offer(message)
        if not admitted:
            return reject(Reason.QUEUE_FULL)
        return Accepted(message, evicted)

    def _override_voice(self, event: Incoming, tier: object) -> str | None:
        """A tier's or a reward's voice: paid for, so it wins over the viewer's."""
        voice = getattr(tier, "voice", None)
        if voice:
            return voice
        if isinstance(event, Redemption):
            return self.rules.reward_voices.get(event.reward_title.strip().lower())
        return None

    def _paired(self, event: Incoming, now: float) -> bool:
        """Match a payment against one seen through the *other* subscription.

        Each report can cancel at most one from a different `via`, so two
        genuine identical cheers seen twice each are still read twice.
        """
        key = event.fingerprint
        if key is None or not event.via:
            return False
        marks = [(via, t) for via, t in self._pairs.get(key, []) if now - t <= PAIR_WINDOW_S]
        for i, (via, _) in enumerate(marks):
            if via != event.via:
                del marks[i]
                self._pairs[key] = marks
                return True
        marks.append((event.via, now))
        self._pairs[key] = marks
        self._pairs.move_to_end(key)
        if len(self._pairs) > MAX_PAIR_KEYS:
            self._pairs.popitem(last=False)
        return False

    def _bits(self, event: Incoming) -> int:
        if isinstance(event, Cheer):
            return event.amount_bits
        if isinstance(event, Donation):
            # by value in the base currency; an unknown currency by the lowest tier
            bits = to_bits(event.amount, event.currency, self.rules.money, self.rules.bits_per_unit)
            return self.rules.tiers.minimum_bits if bits is None else bits
        return 0

    @staticmethod
    def _values(event: Incoming, name: str, body: str, bits: int) -> dict[str, object]:
        values: dict[str, object] = {"user": name, "message": body, "bits": bits}
        if isinstance(event, Subscription):
            values |= {"tier": _tier_words(event.tier.value), "months": event.months}
        elif isinstance(event, GiftSubs):
            values |= {"count": event.count, "tier": _tier_words(event.tier.value)}
            if event.anonymous:
                values["user"] = "An anonymous gifter"
        elif isinstance(event, Redemption):
            values["reward"] = event.reward_title
        elif isinstance(event, Raid):
            values["viewers"] = event.viewers
        elif isinstance(event, Donation):
            values |= {
                "amount": format_amount(event.amount, event.currency),
                "currency": event.currency,
                "money": spoken_amount(event.amount, event.currency),
            }
        return values

    def _command(self, command: Command, now: float, on_air: OnAir) -> Control | Rejected:
        by = command.by
        playing = on_air.playing
        if not self.rules.permissions.allows(by, command.name):
            own_skip = (
                isinstance(command, Skip)
                and playing is not None
                and playing.user == by.login
                and _from_twitch(playing)
            )
            if not own_skip:
                return Rejected(Reason.NOT_ALLOWED, None, by.login, detail=f"{command.name}")
        action, login = ControlAction(command.name), by.login
        if isinstance(command, Skip):
            return Control(action, login, skip_id=playing.id if playing else "")
        if isinstance(command, Clear):
            paid_too = self.rules.clear_drops_paid
            dropped = self._take_out(lambda m: paid_too or not m.paid, on_air)
            return Control(action, login, dropped=dropped, detail=f"cleared {len(dropped)}")
        if isinstance(command, Pause | Resume):
            return Control(action, login)
        if isinstance(command, QueueQuery):
            return Control(action, login, detail=self._queue_reply(login, now))
        if isinstance(command, Ban):
            target = command.target
            self.banned.add(target)
            dropped = self._take_out(
                lambda m: m.user == target and not m.paid and _from_twitch(m), on_air
            )
            mine = (
                playing is not None
                and playing.user == target
                and not playing.paid
                and _from_twitch(playing)
            )
            skip = playing.id if mine and playing is not None else ""
            return Control(action, login, target, skip, dropped, "banned from TTS")
        if isinstance(command, Remove):
            target = command.target
            dropped = self._take_out(lambda m: m.id == target, on_air)
            skip = playing.id if playing is not None and playing.id == target else ""
            return Control(action, login, target, skip, dropped, "removed")
        if isinstance(command, Unban):
            self.banned.discard(command.target)
            return Control(action, login, command.target, detail="unbanned")
        if isinstance(command, Say | Unsay | Nick):
            return self.lexicon.command(command, self.rules)
        if isinstance(command, Approve | Reject):
            return self._approval(command, now)
        if isinstance(command, Voice):
            return set_voice(self.rules.voices, self.voices, action, by, by.login, command.alias)
        if isinstance(command, UserVoice):
            return set_voice(
                self.rules.voices, self.voices, action, by, command.target, command.alias, own=False
            )
        raise TypeError(f"unknown command {command!r}")  # pragma: no cover - a bug

    def _approval(self, command: Approve | Reject, now: float) -> Control:
        action, by = ControlAction(command.name), command.by.login
        message = self.approvals.find(command.target)
        if message is None:
            return Control(action, by, command.target, detail="no such message awaits approval")
        self.approvals.take(message.id)
        if isinstance(command, Reject):
            return Control(action, by, message.id, dropped=(message,), detail="rejected")
        self._seq += 1  # it joins the queue now, in its priority
        message.seq, message.enqueued_at = self._seq, now
        admitted, evicted = self.queue.offer(message)
        if not admitted:
            return Control(action, by, message.id, dropped=(message,), detail="queue_full")
        dropped = (evicted,) if evicted is not None else ()
        detail = f"approved {message.user}"
        return Control(action, by, message.id, dropped=dropped, detail=detail, approved=message)

    def _queue_reply(self, login: str, now: float) -> str:
        order = self.queue.snapshot(now)
        mine = [i for i, m in enumerate(order, 1) if m.user == login and _from_twitch(m)]
        waiting = f"{len(order)} waiting"
        reply = f"{waiting}; you are #{mine[0]}" if mine else waiting
        held = list(self.approvals)
        if held:  # numbered as `!ttsok <n>` takes them
            listed = ", ".join(f"#{n} {m.user}" for n, m in enumerate(held[:5], 1))
            more = " ..." if len(held) > 5 else ""
            reply += f"; awaiting approval: {listed}{more}"
        return reply

    def _drop(
        self, match: Callable[[Message], bool], reason: str, target: str, on_air: OnAir
    ) -> Control:
        """Moderation on Twitch's side: drop matching messages, cut one playing."""
        dropped = self._take_out(match, on_air)
        playing = on_air.playing
        skip = playing.id if playing is not None and match(playing) else ""
        return Control(ControlAction.DROP, "twitch", target, skip, dropped, reason)

    def _take_out(self, match: Callable[[Message], bool], on_air: OnAir) -> tuple[Message, ...]:
        """Remove matching waiting messages, and taken ones not yet heard
        (the playback stops those: they are in `dropped` too)."""
        dropped = [m for m in list(self.queue) if match(m)]
        for m in dropped:
            self.queue.remove(m.id)
        dropped += self.approvals.take_matching(match)
        playing = on_air.playing
        for m in on_air.taken.values():
            if m is not playing and match(m):
                dropped.append(m)
        return tuple(dropped)


_TWITCH_SOURCES = frozenset(
    {Source.CHAT, Source.CHEER, Source.SUBSCRIPTION, Source.GIFT}
    | {Source.REDEMPTION, Source.RAID, Source.FOLLOW}
)


def _from_twitch(message: Message) -> bool:
    """Its `user` is a Twitch login. Donors, tips and announcements carry names
    from outside, which a login must never match (a new source is outside too)."""
    return message.source in _TWITCH_SOURCES


def _kind(event: Incoming, bits: int) -> str:
    """A short label of what it is, for captions: "cheer 500", "resub 12 months"."""
    if isinstance(event, Cheer):
        return f"cheer {bits}"
    if isinstance(event, Subscription):
        prime = "prime " if event.tier.value == "prime" else ""
        return f"{prime}resub {event.months} months" if event.months > 1 else f"{prime}sub"
    if isinstance(event, GiftSubs):
        return f"gift {event.count} sub" + ("s" if event.count > 1 else "")
    if isinstance(event, Donation):
        provider = getattr(event, "provider", "")  # a Tip names its provider
        via = f" via {provider}" if provider else ""
        return f"tip {format_amount(event.amount, event.currency)} {event.currency}{via}"
    if isinstance(event, Redemption):
        return f"channel points: {event.reward_title}"
    if isinstance(event, Raid):
        return f"raid {event.viewers}"
    if isinstance(event, Announce):
        return "announcement"
    return str(event.source)


def _tier_words(tier: str) -> str:
    return "Prime" if tier == "prime" else f"tier {tier}"
