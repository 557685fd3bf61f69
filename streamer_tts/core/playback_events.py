"""The playback's inputs and actions: frozen, slotted, one class each.

Inputs are what happened (a decision, a message taken, the player's
reports); actions are what the conductor must do. Kept apart from the
state machine in `playback.py`, as h11 keeps its events in `_events.py`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from . import records
    from .decisions import Decision, Message

__all__ = [
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
    "Record",
    "Report",
    "Requeue",
    "ResumeAudio",
    "Started",
    "Stop",
    "Taken",
]


# --- inputs --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decided:
    """Admission decided an event."""

    decision: Decision


@dataclass(frozen=True, slots=True)
class Taken:
    """The conductor took this message out of the queue for the player."""

    message: Message


@dataclass(frozen=True, slots=True)
class Started:
    """The first sound of a committed message."""

    id: str
    engine: str = ""
    first_audio_ms: float | None = None


@dataclass(frozen=True, slots=True)
class Low:
    """The message's audio is complete and nearly all heard."""

    id: str


@dataclass(frozen=True, slots=True)
class Finished:
    id: str
    engine: str = ""
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Cut:
    """The fade of a cut message is over: silence."""

    id: str


@dataclass(frozen=True, slots=True)
class Failed:
    """An engine failed the message; `final`: every engine and retry did."""

    id: str
    engine: str = ""
    error: str = ""
    final: bool = False


@dataclass(frozen=True, slots=True)
class Lost:
    """The output lost its device while this message sounded."""

    id: str


@dataclass(frozen=True, slots=True)
class Stop:
    """Start nothing new (the daemon is stopping)."""


Input = Decided | Taken | Started | Low | Finished | Cut | Failed | Lost | Stop


# --- actions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Play:
    message: Message


@dataclass(frozen=True, slots=True)
class Forget:
    """Drop a message's prefetched audio (it left the queue)."""

    id: str


@dataclass(frozen=True, slots=True)
class CutAudio:
    id: str


@dataclass(frozen=True, slots=True)
class PauseAudio:
    pass


@dataclass(frozen=True, slots=True)
class ResumeAudio:
    pass


@dataclass(frozen=True, slots=True)
class Requeue:
    """Put an interrupted message back at the head of its level."""

    message: Message


@dataclass(frozen=True, slots=True)
class Record:
    """Write to the journal; the turn's reports wait until it is durable."""

    op: records.Op


class Note(enum.Enum):
    """What a report says; the conductor names it in the event log."""

    ACCEPTED = enum.auto()
    REJECTED = enum.auto()
    CONTROL = enum.auto()
    STARTED = enum.auto()
    FINISHED = enum.auto()
    SKIPPED = enum.auto()
    DROPPED = enum.auto()
    FAILED = enum.auto()
    INTERRUPTED = enum.auto()
    SILENCED = enum.auto()
    HELD = enum.auto()  # waits for a moderator's approval
    APPROVED = enum.auto()
    FLOOD_ON = enum.auto()  # the queue's, not a message's: reported by the conductor
    FLOOD_OFF = enum.auto()


@dataclass(frozen=True, slots=True)
class Report:
    note: Note
    fields: Mapping[str, object] = field(default_factory=dict[str, object])


Action = Play | Forget | CutAudio | PauseAudio | ResumeAudio | Requeue | Record | Report
