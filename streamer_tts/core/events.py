"""Input events: what the outside world can tell the admission core.

Each source has its own small frozen class, validated on construction, so an
event that reaches :class:`~streamer_tts.core.admission.Admission` is already
well formed. Adapters (Twitch, the control API, the demo script) only build
these; they never decide anything.

Commands (`core/command_events.py`) and users (`core/users.py`) live in their
own modules and are re-exported here, so `from .events import ...` names
every input.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import ClassVar

from .command_events import (
    Approve,
    Ban,
    Clear,
    Command,
    Nick,
    Pause,
    QueueQuery,
    Reject,
    Remove,
    Resume,
    Say,
    SelfNick,
    Skip,
    Unban,
    Unsay,
    UserVoice,
    Voice,
)
from .users import Role, User

__all__ = [
    "Announce",
    "Approve",
    "Ban",
    "ChatTTS",
    "Cheer",
    "Clear",
    "Command",
    "DeleteMessage",
    "Donation",
    "Follow",
    "Fragment",
    "FragmentKind",
    "GiftSubs",
    "Incoming",
    "Nick",
    "Pause",
    "PurgeUser",
    "QueueQuery",
    "Raid",
    "Redemption",
    "Reject",
    "Remove",
    "Resume",
    "Role",
    "Say",
    "SelfNick",
    "Skip",
    "Source",
    "Subscription",
    "Tip",
    "Unban",
    "Unsay",
    "User",
    "UserVoice",
    "Voice",
]


class Source(enum.StrEnum):
    """Where a message came from; the names are the event log's `source`."""

    CHAT = "chat"
    CHEER = "cheer"
    SUBSCRIPTION = "subscription"
    GIFT = "gift"
    REDEMPTION = "redemption"
    RAID = "raid"
    FOLLOW = "follow"
    API = "api"
    STREAMELEMENTS = "streamelements"
    STREAMLABS = "streamlabs"
    KOFI = "kofi"


class FragmentKind(enum.StrEnum):
    TEXT = "text"
    CHEERMOTE = "cheermote"
    EMOTE = "emote"
    MENTION = "mention"


@dataclass(frozen=True, slots=True)
class Fragment:
    """One piece of a chat message as Twitch marks it (cheermote, emote ...)."""

    kind: FragmentKind
    text: str


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True, slots=True, kw_only=True)
class Incoming:
    """Base of every event that may become a spoken message.

    `id` is the platform's own message id (Twitch message id, donation id), the
    key for de-duplication across subscriptions and redelivery.
    """

    source: ClassVar[Source]
    paid: ClassVar[bool] = False

    id: str
    user: User
    message: str = ""
    fragments: tuple[Fragment, ...] = field(default=())
    via: str = ""  # which subscription delivered it (e.g. "chat", "eventsub")
    language: str | None = None  # ISO 639-1, detected at the edge (`voices.by_language`)

    def __post_init__(self) -> None:
        _require(bool(self.id), "event id must not be empty")

    @property
    def fingerprint(self) -> tuple[object, ...] | None:
        """What identifies the same payment seen through two subscriptions.

        Twitch reports a cheer both in chat and as `channel.cheer`, with no
        shared id; the pair is matched by this key instead (None: not paid).
        """
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatTTS(Incoming):
    """`!tts <text>` in chat; `unprompted`: a plain chat line read because
    the channel reads all chat (`sources.chat.mode: all`)."""

    source: ClassVar[Source] = Source.CHAT

    unprompted: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Cheer(Incoming):
    source: ClassVar[Source] = Source.CHEER
    paid: ClassVar[bool] = True

    amount_bits: int

    def __post_init__(self) -> None:
        Incoming.__post_init__(self)
        _require(self.amount_bits > 0, "a cheer has a positive number of bits")

    @property
    def fingerprint(self) -> tuple[object, ...] | None:
        return ("cheer", self.user.login, self.amount_bits)


class SubTier(enum.StrEnum):
    PRIME = "prime"
    TIER1 = "1"
    TIER2 = "2"
    TIER3 = "3"

    @classmethod
    def parse(cls, raw: str, *, is_prime: bool = False) -> SubTier:
        """Accept Twitch's `1000`/`2000`/`3000` and `prime`."""
        if is_prime or raw.lower() == "prime":
            return cls.PRIME
        return {"1000": cls.TIER1, "2000": cls.TIER2, "3000": cls.TIER3}.get(raw, cls(raw))


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription(Incoming):
    """A new sub or a resub (the resub carries the viewer's message)."""

    source: ClassVar[Source] = Source.SUBSCRIPTION
    paid: ClassVar[bool] = True

    tier: SubTier = SubTier.TIER1
    months: int = 1

    def __post_init__(self) -> None:
        Incoming.__post_init__(self)
        _require(self.months >= 1, "months must be at least 1")

    @property
    def fingerprint(self) -> tuple[object, ...] | None:
        # months differ between chat's sub notice (the sub's duration) and
        # channel.subscribe (always 1); one sub per user per window is real
        return ("sub", self.user.login)


@dataclass(frozen=True, slots=True, kw_only=True)
class GiftSubs(Incoming):
    source: ClassVar[Source] = Source.GIFT
    paid: ClassVar[bool] = True

    count: int
    tier: SubTier = SubTier.TIER1
    anonymous: bool = False

    def __post_init__(self) -> None:
        Incoming.__post_init__(self)
        _require(self.count >= 1, "a gift has at least one sub")

    @property
    def fingerprint(self) -> tuple[object, ...] | None:
        return ("gift", self.user.login, self.count)


@dataclass(frozen=True, slots=True, kw_only=True)
class Redemption(Incoming):
    """A channel-points reward redeemed; spoken only for configured titles."""

    source: ClassVar[Source] = Source.REDEMPTION
    paid: ClassVar[bool] = True

    reward_title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Raid(Incoming):
    source: ClassVar[Source] = Source.RAID

    viewers: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Follow(Incoming):
    source: ClassVar[Source] = Source.FOLLOW


@dataclass(frozen=True, slots=True, kw_only=True)
class Donation(Incoming):
    """Money from outside Twitch (tip page, bridge); `amount` in currency units."""

    source: ClassVar[Source] = Source.API
    paid: ClassVar[bool] = True

    amount: float
    currency: str = "USD"

    def __post_init__(self) -> None:
        Incoming.__post_init__(self)
        _require(0 < self.amount < 1e9, "a donation amount is positive")
        if not self.user.external:  # a donor's name is never a Twitch login
            object.__setattr__(self, "user", replace(self.user, external=True))


@dataclass(frozen=True, slots=True, kw_only=True)
class Tip(Donation):
    """A tip read from a tip provider's own feed (StreamElements, Streamlabs,
    Ko-fi); `private`: the tipper asked that name and message stay hidden."""

    provider: ClassVar[str] = ""  # shown in captions: "tip 25.00 EUR via Ko-fi"

    private: bool = False

    @staticmethod
    def of(source: Source, **fields: object) -> Tip:
        """The tip class of a provider source."""
        # the fields are each class's own: checked by its constructor, not statically
        return _TIP_CLASSES[source](**fields)  # pyright: ignore[reportArgumentType]


@dataclass(frozen=True, slots=True, kw_only=True)
class _StreamElementsTip(Tip):
    source: ClassVar[Source] = Source.STREAMELEMENTS
    provider: ClassVar[str] = "StreamElements"


@dataclass(frozen=True, slots=True, kw_only=True)
class _StreamlabsTip(Tip):
    source: ClassVar[Source] = Source.STREAMLABS
    provider: ClassVar[str] = "Streamlabs"


@dataclass(frozen=True, slots=True, kw_only=True)
class _KofiTip(Tip):
    source: ClassVar[Source] = Source.KOFI
    provider: ClassVar[str] = "Ko-fi"


_TIP_CLASSES: dict[Source, type[Tip]] = {
    Source.STREAMELEMENTS: _StreamElementsTip,
    Source.STREAMLABS: _StreamlabsTip,
    Source.KOFI: _KofiTip,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Announce(Incoming):
    """Text from the streamer's own tools (the control API's `tts`), read as
    given (no template) at the priority asked for."""

    source: ClassVar[Source] = Source.API

    priority: str = "normal"

    def __post_init__(self) -> None:
        Incoming.__post_init__(self)
        _require(
            self.priority in ("low", "normal", "high", "urgent"),
            "priority is one of low, normal, high, urgent",
        )


# --- moderation on Twitch's side: a mod deleted a message or removed a user ---


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteMessage:
    """A mod deleted a chat message: never read it (or stop reading it)."""

    message_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PurgeUser:
    """A user was timed out or banned from the channel: drop what they sent."""

    login: str
    reason: str = "timeout"

    def __post_init__(self) -> None:
        object.__setattr__(self, "login", self.login.strip().lower())
