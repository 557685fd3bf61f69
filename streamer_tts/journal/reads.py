"""The journal's read queries: live messages, one entry, history, recent ids.

Plain functions over the journal's one connection; `Journal` calls them and
turns SQLite's errors into its own. Apart from the writes so the state
transitions in `store.py` read on their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .rows import SELECT, State, entry

if TYPE_CHECKING:
    import sqlite3

    from ..core.decisions import Message
    from .rows import Entry

__all__ = ["get", "held", "history", "live", "seen_ids"]


def live(db: sqlite3.Connection, state: State) -> list[Message]:
    """Messages in `state` not ended: highest priority first, then acceptance order."""
    rows = db.execute(
        f"{SELECT} WHERE ended_at IS NULL AND state = ? ORDER BY priority DESC, row",
        (str(state),),
    ).fetchall()
    return [entry(r).message for r in rows]


def held(db: sqlite3.Connection) -> list[Message]:
    """Messages waiting for a moderator's approval, in acceptance order."""
    rows = db.execute(
        f"{SELECT} WHERE ended_at IS NULL AND state = ? ORDER BY row",
        (str(State.HELD),),
    ).fetchall()
    return [entry(r).message for r in rows]


def get(db: sqlite3.Connection, message_id: str) -> Entry | None:
    row = db.execute(f"{SELECT} WHERE id = ?", (message_id,)).fetchone()
    return None if row is None else entry(row)


def history(db: sqlite3.Connection, limit: int) -> list[Entry]:
    """Ended messages, newest first, at most `limit`."""
    rows = db.execute(
        f"{SELECT} WHERE ended_at IS NOT NULL ORDER BY ended_at DESC, row DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [entry(r) for r in rows]


def seen_ids(db: sqlite3.Connection, limit: int) -> list[str]:
    """The ids most recently accepted, oldest first."""
    rows = db.execute("SELECT id FROM messages ORDER BY row DESC LIMIT ?", (limit,)).fetchall()
    return [r[0] for r in reversed(rows)]
