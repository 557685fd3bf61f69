"""Decisions: every event ends in exactly one of these.

`Accepted` carries the message to speak, `Rejected` a reason from the fixed
set below (the event log's `reason`), `Control` a command for the player.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .events import Source

__all__ = [
    "Accepted",
    "Control",
    "ControlAction",
    "Decision",
    "Message",
    "Priority",
    "Reason",
    "Rejected",
]


class Reason(enum.StrEnum):
    """Why an event was not spoken; a fixed set that tests outside rely on."""

    RATE_LIMITED = "rate_limited"
    USER_LIMIT = "user_limit"
    NOT_ALLOWED = "not_allowed"
    BANNED_WORD = "banned_word"
    IGNORED_USER = "ignored_user"
    BANNED_USER = "banned_user"
    EMPTY = "empty"
    TOO_FEW_BITS = "too_few_bits"
    QUEUE_FULL = "queue_full"
    DUPLICATE = "duplicate"
    DISABLED = "disabled"
    LINK = "link"
    FLOOD = "flood"  # flood mode: free messages below `queue.flood_min_priority` refused


class Priority(enum.IntEnum):
    """Play order between levels; FIFO inside a level."""

    LOW = 0
    NORMAL = 1
    HIGH = 2
    URGENT = 3

    @classmethod
    def parse(cls, name: str) -> Priority:
        return cls[name.strip().upper()]

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(slots=True, eq=False)
class Message:
    """An accepted message, as it waits in the queue and then plays.

    `text` is read when the name is read, `text_bare` when it is not (the
    `read_usernames` setting picks one at play time). `seq` is the arrival
    order, `enqueued_at` the admission time in seconds (caller's clock),
    `ready_at` the time before which it may not play (a moderator's hold).
    """

    id: str
    source: Source
    user: str
    name: str
    priority: Priority
    text: str
    text_bare: str
    paid: bool
    seq: int
    enqueued_at: float
    interrupt: bool = False
    voice: str | None = None
    sound: str | None = None  # an alert sound played right before it
    bits: int = 0
    spoken: str = ""
    meta: dict[str, str] = field(default_factory=dict[str, str])
    ready_at: float = 0.0

    def __repr__(self) -> str:
        return f"Message({self.id!r}, {self.source}, {self.priority}, seq={self.seq})"


@dataclass(frozen=True, slots=True)
class Accepted:
    """`held`: it waits for a moderator's approval, outside the queue."""

    message: Message
    evicted: Message | None = None
    held: bool = False


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: Reason
    source: Source | None
    user: str
    id: str = ""
    detail: str = ""


class ControlAction(enum.StrEnum):
    """What an allowed command does; the value is the event log's `action`.

    Every command of `core/command_events.py` has its member, plus `DROP`: a
    moderator's action on Twitch's side (a deleted message, a timed-out user).
    """

    SKIP = "skip"
    CLEAR = "clear"
    PAUSE = "pause"
    RESUME = "resume"
    QUEUE = "queue"
    REMOVE = "remove"
    BAN = "ban"
    UNBAN = "unban"
    SAY = "say"
    UNSAY = "unsay"
    NICK = "nick"
    SELF_NICK = "self_nick"
    APPROVE = "approve"
    REJECT = "reject"
    VOICE = "voice"
    TTSVOICE = "ttsvoice"
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class Control:
    """An allowed command: `action` says which (skip, clear ...).

    `skip_id` names the playing message the player must cut, `dropped` the
    waiting ones the command removed, `approved` the one a moderator let into
    the queue, `detail` a short reply for chat.
    """

    action: ControlAction
    by: str
    target: str = ""
    skip_id: str = ""
    dropped: tuple[Message, ...] = ()
    detail: str = ""
    value: str = ""  # what a lexicon edit set (a respelling, a nickname; "" = removed)
    approved: Message | None = None
    voice: str | None = None  # voice commands: the alias `target` now has ("" = reset)


Decision = Accepted | Rejected | Control
