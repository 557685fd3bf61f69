"""Viewers' own voices (`!voice`, `!ttsvoice`) on disk: login -> alias.

Kept beside the messages in the journal's file, in a table of its own that
is created when missing (a journal written before voices existed just gains
it), so the schema version and its migrations stay the messages' concern.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import sqlite3

__all__ = ["MAX_VOICES", "ensure_table", "forget_voice", "load_voices", "set_voice"]

# The same bound as the core's registry: the oldest choices go past it.
MAX_VOICES: Final = 100_000

_TABLE = """
CREATE TABLE IF NOT EXISTS voices (
    login TEXT PRIMARY KEY, alias TEXT NOT NULL, set_at REAL NOT NULL
) WITHOUT ROWID
"""


def ensure_table(db: sqlite3.Connection) -> None:
    db.execute(_TABLE)


def set_voice(db: sqlite3.Connection, login: str, alias: str, now_s: float) -> None:
    db.execute(
        "INSERT OR REPLACE INTO voices (login, alias, set_at) VALUES (?, ?, ?)",
        (login.strip().lower(), alias, now_s),
    )
    db.execute(
        "DELETE FROM voices WHERE login IN (SELECT login FROM voices "
        "ORDER BY set_at DESC LIMIT -1 OFFSET ?)",
        (MAX_VOICES,),
    )


def forget_voice(db: sqlite3.Connection, login: str) -> None:
    db.execute("DELETE FROM voices WHERE login = ?", (login.strip().lower(),))


def load_voices(db: sqlite3.Connection) -> dict[str, str]:
    """Every kept choice, oldest first (the core's registry evicts in this order)."""
    rows = db.execute("SELECT login, alias FROM voices ORDER BY set_at, login")
    return {str(login): str(alias) for login, alias in rows}
