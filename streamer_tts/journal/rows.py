"""A message's row: its states, the columns it is stored in, and back again.

The state machine and the mapping between `Message` and the `messages`
table, apart from the `Journal` that runs the statements, so a new
`Message` field or state is one file's change.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from ..core.decisions import Message, Priority
from ..core.events import Source

if TYPE_CHECKING:
    import sqlite3

__all__ = ["FIELDS", "FROM", "INSERT", "SELECT", "Entry", "State", "entry"]


class State(enum.StrEnum):
    PENDING = "pending"
    PLAYING = "playing"
    FINISHED = "finished"
    SKIPPED = "skipped"
    DROPPED = "dropped"
    FAILED = "failed"  # no engine could speak it: kept for the history's Replay
    HELD = "held"  # waits for a moderator's approval

    @property
    def ended(self) -> bool:
        return self in _ENDED


_ENDED = frozenset({State.FINISHED, State.SKIPPED, State.DROPPED, State.FAILED})
_LIVE = (State.PENDING, State.PLAYING, State.HELD)
# The state machine as data: a live message may go anywhere (requeued,
# re-started after an engine fallback, finished with no audio), an ended one
# nowhere. That is the one promise: a message ends exactly once.
FROM: dict[State, tuple[State, ...]] = {s: _LIVE for s in State}

# Every Message field but the caller's clock (enums and bools are int/str to
# SQLite); a new field fails every INSERT until the schema grows a column.
# A hold's end is on the loop's clock, meaningless to the next run: not kept.
_CLOCKED = frozenset({"enqueued_at", "ready_at"})
FIELDS = tuple(f.name for f in fields(Message) if f.name not in _CLOCKED)
INSERT = (
    f"INSERT INTO messages ({', '.join(FIELDS)}, state, accepted_at) "
    f"VALUES ({', '.join(':' + f for f in FIELDS)}, :state, :accepted_at)"
)
SELECT = (
    f"SELECT {', '.join(FIELDS)}, state, reason, skipped_by, accepted_at, started_at, ended_at "
    "FROM messages"
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One message as the journal knows it; times are wall-clock epoch seconds."""

    message: Message
    state: State
    reason: str = ""
    skipped_by: str = ""
    accepted_at_s: float = 0.0
    started_at_s: float | None = None
    ended_at_s: float | None = None


def entry(row: sqlite3.Row) -> Entry:
    """A `SELECT` row as an `Entry`; the message's `enqueued_at` is its acceptance."""
    values = {f: row[f] for f in FIELDS}
    values.update(
        source=Source(values["source"]),
        priority=Priority(values["priority"]),
        paid=bool(values["paid"]),
        interrupt=bool(values["interrupt"]),
        meta=json.loads(values["meta"]),
    )
    accepted_s = float(row["accepted_at"])
    message = Message(**values, enqueued_at=accepted_s)
    return Entry(
        message,
        State(row["state"]),
        row["reason"],
        row["skipped_by"],
        accepted_s,
        row["started_at"],
        row["ended_at"],
    )
