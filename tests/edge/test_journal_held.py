"""The journal's `held` state: messages waiting for a moderator's approval."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from streamer_tts.core import records
from streamer_tts.core.decisions import Message, Priority
from streamer_tts.core.events import Source
from streamer_tts.journal import Journal, JournalError
from streamer_tts.journal.database import SCHEMA_VERSION
from streamer_tts.journal.store import FILE_NAME, State


def msg(mid: str, *, paid: bool = False) -> Message:
    return Message(
        id=mid, source=Source.CHAT, user="u", name="U", priority=Priority.LOW,
        text=f"text {mid}", text_bare=mid, paid=paid, seq=1, enqueued_at=0.0,
    )  # fmt: skip


def test_held_is_live_but_not_pending_until_approved(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as j:
        j.apply([records.Accept(msg("h1"), held=True), records.Accept(msg("h2"), held=True)])
        j.record_accepted(msg("p1"))
        assert [m.id for m in j.held()] == ["h1", "h2"]
        assert [m.id for m in j.pending()] == ["p1"]
        assert j.seen_ids(10) == ["h1", "h2", "p1"]
        j.apply([records.Approve("h1"), records.MarkDropped("h2", "rejected")])
        assert j.held() == []
        assert [m.id for m in j.pending()] == ["h1", "p1"]
        assert j.get("h2").state is State.DROPPED  # type: ignore[union-attr]
        assert j.get("h2").reason == "rejected"  # type: ignore[union-attr]
        with pytest.raises(JournalError):
            j.approve("h2")  # ended: never moves again


def test_a_v2_journal_is_upgraded_to_know_held(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as j:
        j.record_accepted(msg("waiting"))
    db = sqlite3.connect(tmp_path / FILE_NAME)  # back to what version 2 wrote
    db.executescript(
        "ALTER TABLE messages DROP COLUMN sound; ALTER TABLE messages RENAME TO v3; DROP INDEX messages_live; DROP INDEX messages_ended;"
    )
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'v3'").fetchone()[0]
    v2 = sql.replace('CREATE TABLE "v3"', "CREATE TABLE messages").replace(",\n'held'", "")
    v2 = v2.replace(", 'failed',\n                         'held')", ", 'failed')")
    assert "'held'" not in v2
    db.executescript(
        v2 + "; INSERT INTO messages SELECT * FROM v3; DROP TABLE v3; PRAGMA user_version = 2;"
    )
    db.close()
    with Journal.open(tmp_path) as j:
        assert [m.id for m in j.pending()] == ["waiting"]
        j.record_accepted(msg("new"), held=True)
        assert [m.id for m in j.held()] == ["new"]
    db = sqlite3.connect(tmp_path / FILE_NAME)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    db.close()
