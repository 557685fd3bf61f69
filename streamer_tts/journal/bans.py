"""The TTS ban list on disk: a mod's `!ttsban` survives a restart.

Plain statements over the journal's one connection, called by `Journal`
inside its transactions (as `lexicon.py` is), apart from the messages'
state transitions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

__all__ = ["MAX_BANS", "add", "load", "remove"]

# TTS bans are a mod's hand-typed commands; the oldest go past this many.
MAX_BANS = 100_000


def add(db: sqlite3.Connection, login: str, by: str, now_s: float) -> None:
    """Ban `login` (already normalised), forgetting the oldest past `MAX_BANS`."""
    db.execute(
        "INSERT OR REPLACE INTO bans (login, banned_at, banned_by) VALUES (?, ?, ?)",
        (login, now_s, by),
    )
    db.execute(
        "DELETE FROM bans WHERE login IN (SELECT login FROM bans "
        "ORDER BY banned_at DESC LIMIT -1 OFFSET ?)",
        (MAX_BANS,),
    )


def remove(db: sqlite3.Connection, login: str) -> None:
    db.execute("DELETE FROM bans WHERE login = ?", (login,))


def load(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT login FROM bans")}
