"""Journal operations as data: what the playback wants written, typed.

The playback (`core/playback.py`) says *what* must be on disk; the journal
writer (`journal/writer.py`) applies a turn's operations in one transaction.
One class per operation, so a caller cannot misspell one and the journal
dispatches on the type, not on a method name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .decisions import Message

__all__ = [
    "Accept",
    "Approve",
    "BanUser",
    "MarkDropped",
    "MarkFailed",
    "MarkFinished",
    "MarkPlaying",
    "MarkSkipped",
    "Op",
    "Requeue",
    "SetNickname",
    "SetPronunciation",
    "SetVoice",
    "UnbanUser",
]


@dataclass(frozen=True, slots=True)
class Accept:
    """A message was accepted: pending until heard (`held`: until a moderator
    approves it). Paid ones must survive a power cut."""

    message: Message
    held: bool = False


@dataclass(frozen=True, slots=True)
class Approve:
    """A held message was approved: pending from now on."""

    id: str


@dataclass(frozen=True, slots=True)
class MarkPlaying:
    id: str
    spoken: str | None = None


@dataclass(frozen=True, slots=True)
class MarkFinished:
    id: str


@dataclass(frozen=True, slots=True)
class MarkSkipped:
    id: str
    by: str


@dataclass(frozen=True, slots=True)
class MarkDropped:
    id: str
    reason: str


@dataclass(frozen=True, slots=True)
class MarkFailed:
    """No engine could speak it, after every retry."""

    id: str
    error: str


@dataclass(frozen=True, slots=True)
class Requeue:
    """Back to pending: interrupted by a higher tier."""

    id: str


@dataclass(frozen=True, slots=True)
class BanUser:
    login: str
    by: str


@dataclass(frozen=True, slots=True)
class UnbanUser:
    login: str


@dataclass(frozen=True, slots=True)
class SetPronunciation:
    """A mod's respelling of `term` (a term key); "" = read as written."""

    term: str
    respelling: str
    by: str


@dataclass(frozen=True, slots=True)
class SetNickname:
    """The name read for `login`; "" = back to the display name."""

    login: str
    nickname: str
    by: str


@dataclass(frozen=True, slots=True)
class SetVoice:
    """A viewer's own voice; None forgets it (`reset`)."""

    login: str
    alias: str | None


Op = (
    Accept
    | Approve
    | MarkPlaying
    | MarkFinished
    | MarkSkipped
    | MarkDropped
    | MarkFailed
    | Requeue
    | BanUser
    | UnbanUser
    | SetPronunciation
    | SetNickname
    | SetVoice
)
