"""Admission: every event in, exactly one decision out.

`Admission` owns the queue, the limits, the TTS ban list and the set of seen
message ids. It is fed events with the current time and answers with an
`Accepted`, a `Rejected` (reason from the fixed set) or a `Control` for the
player. No I/O, no clock, no asyncio: the conductor calls it from one task.

What is playing is not Admission's: `core/playback.py` owns it, and the
conductor passes a view of it (`OnAir`) to the decisions that need it (a
skip, a moderator dropping a user's messages).

Commands and Twitch's own moderation are answered in `core/steering.py`,
what an event says (bits, template values) in `core/wording.py`, a payment
reported twice is matched in `core/pairing.py`: this file decides what is read.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import steering
from .alerts import choose_sound
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
    ChatTTS,
    Cheer,
    Command,
    DeleteMessage,
    Donation,
    FragmentKind,
    Incoming,
    PurgeUser,
    Raid,
    Redemption,
)
from .fields import clean_field
from .filters import clean
from .limits import GateFactory, Limits
from .moderation import Approvals, Flood
from .nicknames import Lexicon
from .pairing import PaymentPairs
from .queue import MessageQueue
from .rules import NameMode, Rules, render
from .voices import MAX_VOICES, choose, inline_meta
from .wording import bits_of, kind_of, template_values

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["MAX_SEEN_IDS", "MAX_VOICES", "Admission", "OnAir"]

# Twitch redelivers within minutes and both cheer subscriptions arrive within
# seconds of each other; this many ids covers hours of a busy channel.
MAX_SEEN_IDS = 50_000


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
        self._pairs = PaymentPairs()
        self._seq = 0
        self._last_speaker: str | None = None
        self.approvals = Approvals()
        self.flood = Flood(rules.flood_threshold)

    def next_seq(self) -> int:
        """The arrival number of a message joining the queue now."""
        self._seq += 1
        return self._seq

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
            return steering.command(self, event, now, on_air)
        if isinstance(event, DeleteMessage):
            match_id = event.message_id
            return steering.drop(self, lambda m: m.id == match_id, "deleted", match_id, on_air)
        login = event.login
        return steering.drop(
            self, lambda m: m.user == login and steering.from_twitch(m), event.reason, login, on_air
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
        if self._pairs.paired(event, now):
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

        bits = bits_of(event, rules)
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
        values = template_values(event, name, body, bits)
        if isinstance(event, Announce):  # the streamer's own words: no template
            text, bare = body, ""
        elif getattr(event, "private", False) and rule.template_private:
            text, bare = render(rule.template_private, values), ""
        else:
            text = render(rule.template, values)
            bare = render(rule.template_no_name, values) if rule.template_no_name else ""
        if not text:
            return reject(Reason.EMPTY)

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
            seq=self.next_seq(),
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
            sound=choose_sound(
                getattr(tier, "sound", None),
                rules.reward_sounds.get(event.reward_title.strip().lower())
                if isinstance(event, Redemption)
                else None,
                rule.sound,
            ),
            bits=bits,
        )
        message.meta["kind"] = kind_of(event, bits)
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
