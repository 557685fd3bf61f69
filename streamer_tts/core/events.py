"""Input events: what the outside world can tell the admission core.

Each source has its own small frozen class, validated on construction, so an
event that reaches :class:`~streamer_tts.core.admission.Admission` is already
well formed. Adapters (Twitch, the control API, the demo script) only build
these; they never decide anything.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import ClassVar

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


class Role(enum.IntEnum):
    """Chat roles, lowest first: a permission names the lowest role allowed."""

    EVERYONE = 0
    SUBSCRIBER = 1
    VIP = 2
    MODERATOR = 3
    BROADCASTER = 4

    @classmethod
    def parse(cls, name: str) -> Role:
        return cls[name.strip().upper()]

    def __str__(self) -> str:
        return self.name.lower()


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


@dataclass(frozen=True, slots=True)
class User:
    """Who sent it: `login` is Twitch's lowercase login, `name` what is read.

    `external` marks a name from outside Twitch (a donor on a tip page): it is
    no Twitch login, so bans, timeouts and own-skips never match it.
    """

    login: str
    name: str = ""
    roles: frozenset[Role] = frozenset()
    external: bool = False

    def __post_init__(self) -> None:
        login = self.login.strip().lower()
        if not login:
            raise ValueError("user login must not be empty")
        object.__setattr__(self, "login", login)
        if not self.name.strip():
            object.__setattr__(self, "name", login)

    @property
    def role(self) -> Role:
        """The highest role held."""
        return max(self.roles, default=Role.EVERYONE)


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


# --- mod commands: they steer the player, they are never spoken ---------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """A chat or API command; `name` is the configured command key."""

    name: ClassVar[str]

    by: User


@dataclass(frozen=True, slots=True, kw_only=True)
class Skip(Command):
    name: ClassVar[str] = "skip"


@dataclass(frozen=True, slots=True, kw_only=True)
class Clear(Command):
    name: ClassVar[str] = "clear"


@dataclass(frozen=True, slots=True, kw_only=True)
class Pause(Command):
    name: ClassVar[str] = "pause"


@dataclass(frozen=True, slots=True, kw_only=True)
class Resume(Command):
    name: ClassVar[str] = "resume"


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueQuery(Command):
    name: ClassVar[str] = "queue"


@dataclass(frozen=True, slots=True, kw_only=True)
class Remove(Command):
    """Take one message out of the queue (or stop it, if playing)."""

    name: ClassVar[str] = "remove"

    target: str

    def __post_init__(self) -> None:
        _require(bool(self.target), "remove needs a message id")


@dataclass(frozen=True, slots=True, kw_only=True)
class Ban(Command):
    name: ClassVar[str] = "ban"

    target: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", self.target.strip().lstrip("@").lower())
        _require(bool(self.target), "ban needs a user")


@dataclass(frozen=True, slots=True, kw_only=True)
class Unban(Command):
    name: ClassVar[str] = "unban"

    target: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", self.target.strip().lstrip("@").lower())
        _require(bool(self.target), "unban needs a user")


@dataclass(frozen=True, slots=True, kw_only=True)
class Say(Command):
    """Teach the voice a word: `term` (one word) is read as `respelling`."""

    name: ClassVar[str] = "say"

    term: str
    respelling: str

    def __post_init__(self) -> None:
        _require(bool(self.term.strip()), "say needs a word")
        _require(bool(self.respelling.strip()), "say needs how to read it")


@dataclass(frozen=True, slots=True, kw_only=True)
class Unsay(Command):
    name: ClassVar[str] = "unsay"

    term: str

    def __post_init__(self) -> None:
        _require(bool(self.term.strip()), "unsay needs a word")


@dataclass(frozen=True, slots=True, kw_only=True)
class Nick(Command):
    """Read `target` as `nickname`; an empty nickname resets it. `name` is
    `self_nick` when viewers name themselves (`!nick`), `nick` for a mod."""

    name: ClassVar[str] = "nick"

    target: str
    nickname: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", self.target.strip().lstrip("@").lower())
        _require(bool(self.target), "nick needs a user")


@dataclass(frozen=True, slots=True, kw_only=True)
class SelfNick(Nick):
    name: ClassVar[str] = "self_nick"


@dataclass(frozen=True, slots=True, kw_only=True)
class Approve(Command):
    """Let a message waiting for approval join the queue. `target` is its id,
    its number in the approval list, or its author's login (the oldest of theirs)."""

    name: ClassVar[str] = "approve"

    target: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", self.target.strip().lstrip("@"))
        _require(bool(self.target), "approve needs a number, a user or a message id")


@dataclass(frozen=True, slots=True, kw_only=True)
class Reject(Command):
    """Refuse a message waiting for approval (`target` as for `Approve`)."""

    name: ClassVar[str] = "reject"

    target: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", self.target.strip().lstrip("@"))
        _require(bool(self.target), "reject needs a number, a user or a message id")


@dataclass(frozen=True, slots=True, kw_only=True)
class Voice(Command):
    """`!voice [alias | reset]`: a viewer's own voice; no alias lists the choices."""

    name: ClassVar[str] = "voice"

    alias: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "alias", self.alias.strip().lower())


@dataclass(frozen=True, slots=True, kw_only=True)
class UserVoice(Command):
    """`!ttsvoice <user> <alias | reset>`: a moderator sets a viewer's voice."""

    name: ClassVar[str] = "ttsvoice"

    target: str
    alias: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", self.target.strip().lstrip("@").lower())
        object.__setattr__(self, "alias", self.alias.strip().lower())
        _require(bool(self.target), "ttsvoice needs a user")
        _require(bool(self.alias), "ttsvoice needs a voice (or reset)")


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
