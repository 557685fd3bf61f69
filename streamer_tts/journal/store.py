"""The journal: every accepted message on disk until it has been heard.

A cheer is money, so a message accepted and not yet heard must survive a
crash, a reboot or a restart, and be read once. One SQLite file, one
connection, one owner (the conductor); calls are plain and synchronous.

Cost (``bench/journal.py``, ext4 on a virtio disk): a call takes ~15 us
(p99 ~60-170 us); about every 360 commits SQLite's auto-checkpoint copies
the WAL back and syncs, a 3-13 ms pause. With ``FULL`` every call is ~130 us.

How each commit is made durable (WAL, when a commit is fsynced, the lock
that keeps a second daemon out) is told in `database.py`, which applies it.

This file holds the writes and the state transitions; a message's states
and row mapping are in `rows.py`, the read queries in `reads.py`, the ban
list's statements in `bans.py` (the lexicon's in `lexicon.py`, the viewers'
voices' in `voices.py`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..core import records
from . import bans, lexicon, reads
from . import voices as voice_table
from .bans import MAX_BANS
from .database import (
    SCHEMA_VERSION,
    Corrupt,
    JournalError,
    Synchronous,
    cause,
    connect,
    move_aside,
)
from .rows import FIELDS, FROM, INSERT, Entry, State

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from ..core.decisions import Message

__all__ = [
    "FILE_NAME",
    "HISTORY_MAX",
    "MAX_BANS",
    "SCHEMA_VERSION",
    "Entry",
    "Journal",
    "JournalError",
    "JournalStateError",
    "State",
]

log = logging.getLogger(__name__)

FILE_NAME = "journal.sqlite3"
# Finished, skipped and dropped messages kept for the dashboard and for
# restoring duplicate detection: about an evening of a busy channel.
HISTORY_MAX = 1_000
# Prune once this many ended messages beyond HISTORY_MAX pile up, so the
# DELETE runs once per hundred endings rather than on every one.
PRUNE_SLACK = 100


class JournalStateError(JournalError):
    """A transition the journal refuses (unknown id, already ended): our bug."""


class Journal:
    """The SQLite journal. Not thread-safe: one owner serialises every call.

    The connection may be used from one worker thread other than the one
    that opened it (a single-thread executor), hence ``check_same_thread``
    off; never from two at once.
    """

    def __init__(
        self,
        db: sqlite3.Connection,
        path: Path,
        clock: Callable[[], float],
        history_max: int,
        synchronous: Synchronous = "NORMAL",
    ) -> None:
        self._db = db
        self.path = path
        self.synchronous: Synchronous = synchronous
        self._clock = clock
        self.history_max = history_max
        try:
            lexicon.create(db)  # additive tables: no schema version needed
        except sqlite3.Error as e:
            raise JournalError(f"journal {path}: cannot add tables: {cause(e)}") from None
        voice_table.ensure_table(db)
        count = db.execute("SELECT count(*) FROM messages WHERE ended_at IS NOT NULL")
        self._ended_count: int = count.fetchone()[0]

    # --- opening ---------------------------------------------------------------

    @classmethod
    def open(
        cls,
        state_dir: Path,
        *,
        clock: Callable[[], float] = time.time,
        history_max: int = HISTORY_MAX,
        synchronous: Synchronous = "NORMAL",
    ) -> Journal:
        """Open (or create) ``state_dir/journal.sqlite3``.

        A corrupt file is moved aside to ``journal.sqlite3.corrupt-<UTC time>``
        with a warning and a fresh journal starts: a crash loop would lose more
        than the old file holds. Anything else (unwritable directory, full
        disk, a journal locked by another daemon) raises :class:`JournalError`.
        """
        state_dir = Path(state_dir)
        try:
            state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as e:
            raise JournalError(f"journal: cannot create {state_dir}: {e.strerror or e}") from None
        path = state_dir / FILE_NAME
        try:
            db = connect(path, synchronous)
        except Corrupt as e:
            aside = move_aside(path, clock())
            log.warning(
                "journal %s is corrupt (%s): moved to %s, starting a fresh one", path, e, aside.name
            )
            try:
                db = connect(path, synchronous)
            except Corrupt as again:
                raise JournalError(f"journal {path}: still corrupt after reset: {again}") from None
        return cls(db, path, clock, history_max, synchronous)

    def close(self) -> None:
        """Close the file (SQLite checkpoints the WAL into it); idempotent."""
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- messages --------------------------------------------------------------

    def record_accepted(self, message: Message, *, held: bool = False) -> None:
        """Store a just-accepted message as pending (or `held` for approval).

        An id that already ended may come back (its duplicate window passed);
        an id still pending or playing raises :class:`JournalStateError`.
        """
        row = {f: getattr(message, f) for f in FIELDS}
        row["meta"] = json.dumps(message.meta, ensure_ascii=False)
        row["accepted_at"] = self._clock()
        row["state"] = str(State.HELD if held else State.PENDING)
        with self._errors("record"):
            try:
                self._db.execute(INSERT, row)
                return
            except sqlite3.IntegrityError:
                pass
            with self._transaction():
                gone = self._db.execute(
                    "DELETE FROM messages WHERE id = ? AND ended_at IS NOT NULL", (message.id,)
                ).rowcount
                if not gone:
                    raise JournalStateError(f"journal: message {message.id!r} is already live")
                self._db.execute(INSERT, row)
            self._ended_count -= gone

    def mark_playing(self, message_id: str, *, spoken: str | None = None) -> None:
        """The first sound was heard; `spoken` is the text chosen to read."""
        sets = "started_at = :now" + (", spoken = :spoken" if spoken is not None else "")
        self._move(message_id, State.PLAYING, sets, spoken=spoken)

    def mark_finished(self, message_id: str) -> None:
        self._move(message_id, State.FINISHED, "ended_at = :now")

    def mark_skipped(self, message_id: str, by: str) -> None:
        self._move(message_id, State.SKIPPED, "ended_at = :now, skipped_by = :by", by=by)

    def mark_dropped(self, message_id: str, reason: str) -> None:
        self._move(message_id, State.DROPPED, "ended_at = :now, reason = :reason", reason=reason)

    def mark_failed(self, message_id: str, error: str) -> None:
        """Every engine and retry failed: ended, never heard, kept in the history."""
        self._move(message_id, State.FAILED, "ended_at = :now, reason = :reason", reason=error)

    def approve(self, message_id: str) -> None:
        """A moderator let a held message into the queue: pending from now."""
        self._move(message_id, State.PENDING, "requeued_at = :now")

    def requeue(self, message_id: str) -> None:
        """Back to pending (interrupted by a higher tier, or replayed at start)."""
        self._move(message_id, State.PENDING, "requeued_at = :now")

    def pending(self) -> list[Message]:
        """Messages never heard: highest priority first, then acceptance order.

        Their `enqueued_at` is the wall-clock acceptance time (epoch seconds),
        not the caller's clock: see :func:`~streamer_tts.journal.restore.plan_restore`.
        """
        return self._live(State.PENDING)

    def held(self) -> list[Message]:
        """Messages waiting for a moderator's approval, in acceptance order."""
        with self._errors("read"):
            return reads.held(self._db)

    def interrupted(self) -> list[Message]:
        """Messages left playing by a crash, in the same order as `pending`."""
        return self._live(State.PLAYING)

    def get(self, message_id: str) -> Entry | None:
        with self._errors("read"):
            return reads.get(self._db, message_id)

    def history(self, limit: int = HISTORY_MAX) -> list[Entry]:
        """Ended messages (finished, skipped, dropped), newest first."""
        limit = max(0, min(limit, self.history_max))
        with self._errors("read"):
            return reads.history(self._db, limit)

    def seen_ids(self, limit: int) -> list[str]:
        """The ids most recently accepted, oldest first (to refill duplicate detection)."""
        with self._errors("read"):
            return reads.seen_ids(self._db, max(0, limit))

    # --- a turn's writes, together --------------------------------------------

    def apply(self, ops: Sequence[records.Op], *, full_sync: bool = False) -> list[str]:
        """Write `ops` in one transaction: all of them, or none (JournalError).

        `full_sync` makes this commit ``synchronous=FULL`` (an fsync of the
        WAL, which also covers every commit before it): a paid acceptance then
        survives a power cut. A refused transition (JournalStateError, our
        bug) does not undo the others: it is returned, one line each.
        """
        problems: list[str] = []
        ended_before = self._ended_count
        with self._errors("write"):
            if full_sync and self.synchronous != "FULL":
                self._db.execute("PRAGMA synchronous = FULL")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for op in ops:
                        try:
                            self._apply(op)
                        except JournalStateError as e:
                            problems.append(str(e))
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    self._ended_count = ended_before
                    raise
            finally:
                if full_sync and self.synchronous != "FULL":
                    self._db.execute(f"PRAGMA synchronous = {self.synchronous}")
        return problems

    def _apply(self, op: records.Op) -> None:
        match op:
            case records.Accept(message, held):
                self.record_accepted(message, held=held)
            case records.Approve(mid):
                self.approve(mid)
            case records.MarkPlaying(mid, spoken):
                self.mark_playing(mid, spoken=spoken)
            case records.MarkFinished(mid):
                self.mark_finished(mid)
            case records.MarkSkipped(mid, by):
                self.mark_skipped(mid, by)
            case records.MarkDropped(mid, reason):
                self.mark_dropped(mid, reason)
            case records.MarkFailed(mid, error):
                self.mark_failed(mid, error)
            case records.Requeue(mid):
                self.requeue(mid)
            case records.BanUser(login, by):
                self.ban(login, by)
            case records.UnbanUser(login):
                self.unban(login)
            case records.SetPronunciation() | records.SetNickname():
                with self._errors("lexicon"), self._transaction():
                    lexicon.apply(self._db, op, self._clock())
            case records.SetVoice(login, alias):
                self.set_voice(login, alias)

    # --- bans ------------------------------------------------------------------

    def ban(self, login: str, by: str) -> None:
        login = login.strip().lower()
        with self._errors("ban"), self._transaction():
            bans.add(self._db, login, by, self._clock())

    def unban(self, login: str) -> None:
        with self._errors("unban"):
            bans.remove(self._db, login.strip().lower())

    def bans(self) -> set[str]:
        with self._errors("read"):
            return bans.load(self._db)

    def lexicon(self) -> tuple[dict[str, str], dict[str, str]]:
        """The mods' respellings and the nicknames, as a previous run left them."""
        with self._errors("read"):
            return lexicon.load_pronunciations(self._db), lexicon.load_nicknames(self._db)

    # --- viewers' voices ---------------------------------------------------------

    def set_voice(self, login: str, alias: str | None) -> None:
        """A viewer's own voice; None forgets it."""
        with self._errors("voice"):
            if alias is None:
                voice_table.forget_voice(self._db, login)
            else:
                voice_table.set_voice(self._db, login, alias, self._clock())

    def voices(self) -> dict[str, str]:
        with self._errors("read"):
            return voice_table.load_voices(self._db)

    # --- inside ----------------------------------------------------------------

    def _move(self, message_id: str, to: State, sets: str, **values: object) -> None:
        """One UPDATE guarded by the allowed from-states; explain a refusal."""
        allowed = FROM[to]
        marks = ", ".join(f"'{s}'" for s in allowed)
        params = {"id": message_id, "to": str(to), "now": self._clock(), **values}
        with self._errors(f"mark {to}"):
            changed = self._db.execute(
                f"UPDATE messages SET state = :to, {sets} WHERE id = :id AND state IN ({marks})",
                params,
            ).rowcount
        if not changed:
            entry = self.get(message_id)
            now = "unknown" if entry is None else f"already {entry.state}"
            raise JournalStateError(f"journal: cannot mark {message_id!r} {to}: {now}")
        if to.ended:
            self._ended_count += 1
            if self._ended_count > self.history_max + PRUNE_SLACK:
                self._prune()

    def _prune(self) -> None:
        excess = self._ended_count - self.history_max
        with self._errors("prune"):
            gone = self._db.execute(
                "DELETE FROM messages WHERE row IN (SELECT row FROM messages "
                "WHERE ended_at IS NOT NULL ORDER BY ended_at, row LIMIT ?)",
                (excess,),
            ).rowcount
        self._ended_count -= gone

    def _live(self, state: State) -> list[Message]:
        with self._errors("read"):
            return reads.live(self._db, state)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._db.in_transaction:  # inside `apply`: its transaction covers this
            yield
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Turn SQLite's errors into one line naming the file."""
        try:
            yield
        except sqlite3.Error as e:
            raise JournalError(f"journal {self.path}: {what} failed: {cause(e)}") from e
