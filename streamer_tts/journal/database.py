"""The journal's SQLite file: pragmas, integrity check, schema, repair.

Kept apart from the API in `store.py`: this is what runs once at start and
decides whether a file on disk can be trusted.

Durability settings (applied in `connect`):

* ``journal_mode=WAL``: a commit is one append to the ``-wal`` file, no
  rewrite of the main file, and an interrupted write never corrupts it.
* ``synchronous=NORMAL``: a commit returns once the WAL frames are written
  with ``write()``, i.e. they sit in the kernel's page cache. A killed
  process (crash, SIGKILL, OOM, watchdog) loses nothing the kernel holds, and
  a clean reboot flushes the cache; only a power cut or kernel panic may
  roll back the last commits (never corrupt). That is enough for free
  messages and for the steps after an acceptance.
* A commit holding a paid acceptance is made with ``synchronous=FULL``
  (`Journal.apply(..., full_sync=True)`): the WAL is fsynced before the
  acceptance is announced, so money survives a power cut too; that fsync
  also covers every commit before it. ``bench/admission.py`` prints its cost.
  Pass ``synchronous="FULL"`` to open the journal to sync every commit.
* ``locking_mode=EXCLUSIVE``: the file stays locked while open, so a second
  daemon on the same state directory fails at start instead of reading
  every message twice; the lock dies with the process.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "SCHEMA_VERSION",
    "Corrupt",
    "JournalError",
    "Synchronous",
    "cause",
    "connect",
    "move_aside",
]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 4  # 2: state 'failed' (no engine could speak it); 3: 'held' (approval)
# 4: `sound` (a message's alert sound), added in place after the table exists

Synchronous = Literal["NORMAL", "FULL"]


class JournalError(Exception):
    """The journal cannot be used: one line naming the file and the cause."""


class Corrupt(Exception):
    """The file fails SQLite's checks: move it aside, start afresh."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    row INTEGER PRIMARY KEY,  -- acceptance order, across restarts
    id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL, user TEXT NOT NULL, name TEXT NOT NULL,
    priority INTEGER NOT NULL, text TEXT NOT NULL, text_bare TEXT NOT NULL,
    paid INTEGER NOT NULL,
    seq INTEGER NOT NULL,  -- Admission's seq in the run that accepted it
    interrupt INTEGER NOT NULL, voice TEXT, bits INTEGER NOT NULL, spoken TEXT NOT NULL,
    meta TEXT NOT NULL,  -- JSON object
    state TEXT NOT NULL
        CHECK (state IN ('pending', 'playing', 'finished', 'skipped', 'dropped', 'failed',
                         'held')),
    reason TEXT NOT NULL DEFAULT '', skipped_by TEXT NOT NULL DEFAULT '',
    accepted_at REAL NOT NULL,  -- wall clock, epoch seconds
    started_at REAL, requeued_at REAL,
    ended_at REAL  -- set exactly when the state is an ended one
);
CREATE INDEX IF NOT EXISTS messages_live ON messages (state, priority, row)
    WHERE ended_at IS NULL;
CREATE INDEX IF NOT EXISTS messages_ended ON messages (ended_at, row)
    WHERE ended_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS bans (
    login TEXT PRIMARY KEY, banned_at REAL NOT NULL, banned_by TEXT NOT NULL
) WITHOUT ROWID;
"""

# v1 -> v2 -> v3: SQLite cannot change a CHECK in place; rebuild the table, same columns.
_FROM_V1 = """
ALTER TABLE messages RENAME TO messages_v1;
DROP INDEX IF EXISTS messages_live;
DROP INDEX IF EXISTS messages_ended
"""
_FROM_V1_COPY = """
INSERT INTO messages SELECT * FROM messages_v1;
DROP TABLE messages_v1
"""

# SQLite primary result codes (`sqlite3.Error.sqlite_errorcode & 0xFF`).
_SQLITE_BUSY = 5
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


def connect(path: Path, synchronous: Synchronous) -> sqlite3.Connection:
    """Open, set the pragmas, check integrity and the schema; raise Corrupt."""
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0.1)
        db.row_factory = sqlite3.Row
    except sqlite3.Error as e:
        raise JournalError(f"journal {path}: cannot open: {cause(e)}") from None
    try:
        db.execute("PRAGMA locking_mode = EXCLUSIVE")
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            log.warning("journal %s: WAL unavailable, using %s mode", path, mode)
        db.execute(f"PRAGMA synchronous = {synchronous}")
        problems = [r[0] for r in db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise Corrupt(" ".join(" ".join(problems).split())[:200])  # one log line
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"journal {path}: schema v{version} is newer than this streamer-tts "
                f"(v{SCHEMA_VERSION}); upgrade it or move the file away"
            )
        db.execute("BEGIN IMMEDIATE")  # takes the exclusive lock now, not at the first cheer
        if version < SCHEMA_VERSION:
            steps = (
                ""
                if version == 3
                else _SCHEMA
                if version == 0
                else _FROM_V1 + ";" + _SCHEMA + ";" + _FROM_V1_COPY
            )
            steps += ";ALTER TABLE messages ADD COLUMN sound TEXT"
            for statement in steps.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except (Corrupt, JournalError):
        db.close()
        raise
    except sqlite3.Error as e:
        db.close()
        code = getattr(e, "sqlite_errorcode", 0) & 0xFF
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            raise Corrupt(cause(e)) from None
        if code == _SQLITE_BUSY:
            raise JournalError(
                f"journal {path}: locked, is another streamer-tts running on this state dir?"
            ) from None
        raise JournalError(f"journal {path}: cannot open: {cause(e)}") from None
    return db


def move_aside(path: Path, now_s: float) -> Path:
    """Rename the corrupt file and its WAL/SHM companions; never overwrite."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now_s))
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        path.rename(aside)
        for suffix in ("-wal", "-shm"):
            companion = path.with_name(path.name + suffix)
            if companion.exists():
                companion.rename(aside.with_name(aside.name + suffix))
    except OSError as e:
        raise JournalError(f"journal {path}: corrupt and cannot be moved aside: {e}") from None
    return aside


def cause(e: sqlite3.Error) -> str:
    name = getattr(e, "sqlite_errorname", "")
    return f"{e} ({name})" if name else str(e)
