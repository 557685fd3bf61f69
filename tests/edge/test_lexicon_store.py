"""Lexicon edits kept in the journal; emote lists and the new keys read at config load."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamer_tts.config import ConfigError, load_config, to_rules
from streamer_tts.config.load import parse_config
from streamer_tts.core import records
from streamer_tts.core.filters import clean
from streamer_tts.journal import Journal


def test_edits_survive_a_reopen(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as j:
        j.apply(
            [
                records.SetPronunciation("xqc", "ex queue see", "mod"),
                records.SetPronunciation("gif", "", "mod"),  # a config term hidden
                records.SetNickname("bob", "Robert", "mod"),
                records.SetNickname("carol", "Caz", "carol"),
            ]
        )
        j.apply(
            [records.SetNickname("carol", "", "mod"), records.SetPronunciation("xqc", "x q c", "m")]
        )
    with Journal.open(tmp_path) as j:
        said, nicknames = j.lexicon()
    assert said == {"gif": "", "xqc": "x q c"}
    assert nicknames == {"bob": "Robert"}


def test_an_edit_is_kept_beside_a_refused_transition(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as j:
        problems = j.apply(
            [records.SetNickname("bob", "Robert", "mod"), records.MarkFinished("nope")]
        )
        assert len(problems) == 1 and "nope" in problems[0]
        assert j.lexicon()[1] == {"bob": "Robert"}


def test_new_keys_parse_and_reach_the_rules(tmp_path: Path) -> None:
    (tmp_path / "emotes.txt").write_text("# 7TV\nKEKW\n\nmonkaS extra words\n", encoding="utf-8")
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        "pronunciations: {xqc: ex queue see}\n"
        "nicknames: {self: true}\n"
        "sources: {chat: {mode: all, roles: [subscriber, vip]}}\n"
        "filters: {emote_lists: [emotes.txt]}\n"
        "commands: {say: {name: teach, allow: vip}}\n",
        encoding="utf-8",
    )
    config = load_config(config_file, env={})
    rules = to_rules(config)
    assert rules.pronunciations == {"xqc": "ex queue see"} and rules.self_nicknames
    assert rules.filters.emotes == {"KEKW", "monkaS"}
    assert clean("KEKW that was monkaS kekw", rules.filters).text == "that was kekw"
    assert str(rules.permissions.required["say"]) == "vip"
    assert config.sources.chat.mode == "all"


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("pronunciations: {two words: x}", "is not one word"),
        ("pronunciations: {xqc: ''}", "the respelling must be"),
        ("sources: {chat: {mode: everything}}", "sources.chat.mode"),
        ("sources: {chat: {roles: [admins]}}", "sources.chat.roles"),
        ("nicknames: {self: maybe}", "nicknames.self"),
        ("filters: {emote_lists: [missing.txt]}", "no such file"),
        ("commands: {self_nick: {name: tts, allow: everyone}}", "share the name"),
    ],
)
def test_bad_values_are_one_line(tmp_path: Path, snippet: str, expected: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_config(snippet, env={}, base_dir=tmp_path)
    assert len(e.value.problems) == 1, e.value.problems
    assert expected in e.value.problems[0]
