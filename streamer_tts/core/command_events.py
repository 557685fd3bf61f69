"""Moderator and viewer commands: they steer the player, they are never spoken.

Apart from the spoken events (`core/events.py`, which re-exports them) so each
file holds one kind of input; a command's `name` is its configured command key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from .users import User

__all__ = [
    "Approve",
    "Ban",
    "Clear",
    "Command",
    "Nick",
    "Pause",
    "QueueQuery",
    "Reject",
    "Remove",
    "Resume",
    "Say",
    "SelfNick",
    "Skip",
    "Unban",
    "Unsay",
    "UserVoice",
    "Voice",
]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


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
