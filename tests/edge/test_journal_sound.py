"""The journal keeps a message's alert sound; a v3 journal gains the column."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from streamer_tts.core.decisions import Message, Priority
from streamer_tts.core.events import Source
from streamer_tts.journal import Journal
from streamer_tts.journal.database import SCHEMA_VERSION
from streamer_tts.journal.store import FILE_NAME


def msg(mid: str, sound: str | None = None) -> Message:
    return Message(
        id=mid, source=Source.CHEER, user="u", name="U", priority=Priority.HIGH,
        text=f"text {mid}", text_bare=mid, paid=True, seq=1, enqueued_at=0.0, sound=sound,
    )  # fmt: skip


def test_a_restored_message_keeps_its_sound(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as j:
        j.record_accepted(msg("chimed", "default"))
        j.record_accepted(msg("plain"))
    with Journal.open(tmp_path) as j:
        assert [(m.id, m.sound) for m in j.pending()] == [("chimed", "default"), ("plain", None)]


def test_a_v3_journal_gains_the_sound_column(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as j:
        j.record_accepted(msg("old"))
    db = sqlite3.connect(tmp_path / FILE_NAME)  # back to what version 3 wrote
    db.executescript("ALTER TABLE messages DROP COLUMN sound; PRAGMA user_version = 3;")
    db.close()
    with Journal.open(tmp_path) as j:
        j.record_accepted(msg("new", "default"))
        assert [(m.id, m.sound) for m in j.pending()] == [("old", None), ("new", "default")]
    db = sqlite3.connect(tmp_path / FILE_NAME)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    db.close()
