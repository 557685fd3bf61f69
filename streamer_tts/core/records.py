"""Journal operations as data: what the playback wants written, typed.

The playback (`core/playback.py`) says *what* must be on disk; the journal
writer (`journal/writer.py`) applies a turn's operations in one transaction.
One class per operation, so a caller cannot misspell one and the journal
dispatches on the type, not on a method name.
"""

from __future__ import annotations

from dataclasses import dataclass

from .decisions import Message

__all__ = [
    "Accept",
    "BanUser",
    "MarkDropped",
    "MarkFailed",
    "MarkFinished",
    "MarkPlaying",
    "MarkSkipped",
    "Op",
    "Requeue",
    "SetVoice",
    "UnbanUser",
]


@dataclass(frozen=True, slots=True)
class Accept:
    """A message was accepted: pending until heard. Paid ones must survive a power cut."""

    message: Message


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
class SetVoice:
    """A viewer's own voice; None forgets it (`reset`)."""

    login: str
    alias: str | None


Op = (
    Accept
    | MarkPlaying
    | MarkFinished
    | MarkSkipped
    | MarkDropped
    | MarkFailed
    | Requeue
    | BanUser
    | UnbanUser
    | SetVoice
)
