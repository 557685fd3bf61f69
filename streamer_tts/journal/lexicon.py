"""The lexicon's tables: mods' respellings and nicknames, kept across restarts.

Additive to the journal's schema (`CREATE TABLE IF NOT EXISTS` at open), so
no schema version changes and an older daemon simply ignores them. Called by
`Journal` on its one connection, inside its transactions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core import records
from ..core.nicknames import MAX_NICKNAMES
from ..core.pronounce import MAX_ENTRIES

if TYPE_CHECKING:
    import sqlite3

__all__ = ["apply", "create", "load_nicknames", "load_pronunciations"]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS pronunciations (
        term TEXT PRIMARY KEY,
        respelling TEXT NOT NULL,  -- '' = read as written (hides a config term)
        set_at REAL NOT NULL, set_by TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS nicknames (
        login TEXT PRIMARY KEY, nickname TEXT NOT NULL,
        set_at REAL NOT NULL, set_by TEXT NOT NULL
    ) WITHOUT ROWID""",
)


def create(db: sqlite3.Connection) -> None:
    for statement in _SCHEMA:
        db.execute(statement)


def apply(
    db: sqlite3.Connection,
    op: records.SetPronunciation | records.SetNickname,
    now_s: float,
) -> None:
    """One edit; the oldest rows go past the core's bounds (the core keeps as many)."""
    if isinstance(op, records.SetPronunciation):
        db.execute(
            "INSERT OR REPLACE INTO pronunciations (term, respelling, set_at, set_by) "
            "VALUES (?, ?, ?, ?)",
            (op.term, op.respelling, now_s, op.by),
        )
        _bound(db, "pronunciations", "term", MAX_ENTRIES)
        return
    if not op.nickname:
        db.execute("DELETE FROM nicknames WHERE login = ?", (op.login,))
        return
    db.execute(
        "INSERT OR REPLACE INTO nicknames (login, nickname, set_at, set_by) VALUES (?, ?, ?, ?)",
        (op.login, op.nickname, now_s, op.by),
    )
    _bound(db, "nicknames", "login", MAX_NICKNAMES)


def _bound(db: sqlite3.Connection, table: str, key: str, most: int) -> None:
    db.execute(
        f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} "
        "ORDER BY set_at DESC LIMIT -1 OFFSET ?)",
        (most,),
    )


def load_pronunciations(db: sqlite3.Connection) -> dict[str, str]:
    rows = db.execute("SELECT term, respelling FROM pronunciations ORDER BY set_at")
    return {r[0]: r[1] for r in rows}


def load_nicknames(db: sqlite3.Connection) -> dict[str, str]:
    rows = db.execute("SELECT login, nickname FROM nicknames ORDER BY set_at")
    return {r[0]: r[1] for r in rows}
