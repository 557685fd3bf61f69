"""Viewers' voices in the journal: kept across a reopen, reset forgets, bounded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from streamer_tts.core.records import SetVoice
from streamer_tts.journal import Journal
from streamer_tts.journal import voices as voice_table


def test_voices_survive_a_reopen_and_reset_forgets(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as journal:
        journal.set_voice("Alice", "robot")
        journal.set_voice("bob", "joe")
        journal.set_voice("bob", "aria")  # the latest choice wins
        journal.set_voice("carol", "joe")
        journal.set_voice("carol", None)
    with Journal.open(tmp_path) as journal:
        assert journal.voices() == {"alice": "robot", "bob": "aria"}


def test_voice_records_go_through_the_batch_like_bans(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as journal:
        problems = journal.apply([SetVoice("alice", "robot"), SetVoice("dave", None)])
        assert problems == []
        assert journal.voices() == {"alice": "robot"}


def test_a_journal_from_before_voices_gains_the_table(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as journal:
        path = journal.path
    db = sqlite3.connect(path)
    db.execute("DROP TABLE voices")
    db.commit()
    db.close()
    with Journal.open(tmp_path) as journal:
        assert journal.voices() == {}
        journal.set_voice("alice", "robot")
        assert journal.voices() == {"alice": "robot"}


def test_the_table_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(voice_table, "MAX_VOICES", 3)
    clock = iter(range(100))
    with Journal.open(tmp_path, clock=lambda: float(next(clock))) as journal:
        for n in range(5):
            journal.set_voice(f"v{n}", "joe")
        assert journal.voices() == {"v2": "joe", "v3": "joe", "v4": "joe"}
