"""Folding: what a listener hears, and where in the original it was written."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamer_tts.core.banned import BannedWords
from streamer_tts.core.fold import fold, fold_char, letter_positions, replace_spans, spelled


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("BadWord", "badword"),
        ("bàdwòrd", "badword"),
        ("bаdword", "badword"),  # Cyrillic а
        ("ВАDWОRD", "badword"),  # Cyrillic В, А, О
        ("ΒΑΔ", "baδ"),  # Greek: look-alikes only
        ("s̲lur sl̸ur", "slur slur"),
        ("ｓｌｕｒ 𝐬𝐥𝐮𝐫 𝓼𝓵𝓾𝓻 ꜱʟᴜʀ ⓢⓛⓤⓡ", "slur slur slur slur slur"),
        ("Scheiße ﬁne", "scheisse fine"),
        ("İstanbul", "istanbul"),
        ("he\u200bllo", "hello"),
        ("日本語", "日本語"),
    ],
)
def test_fold_reduces_to_plain_lowercase_letters(text: str, folded: str) -> None:
    assert fold(text).text == folded


def test_ascii_is_only_lowered_and_keeps_its_indices() -> None:
    folded = fold("Hello World")
    assert folded.text == "hello world" and folded.origin is None
    assert folded.span(6, 11) == (6, 11)


def test_spans_map_back_to_the_original_including_folded_away_marks() -> None:
    text = "a s̲lur̸ here"
    folded = fold(text)
    start = folded.text.index("slur")
    assert text[slice(*folded.span(start, start + 4))] == "s̲lur̸"
    text = "Scheiße!"
    folded = fold(text)
    assert text[slice(*folded.span(0, len("scheisse")))] == "Scheiße"


def test_look_alikes_keep_case_apart() -> None:
    assert fold_char("Η") == "h" and fold_char("η") == "n"  # Greek eta
    assert fold_char("\u0301") == "" and fold_char("\u200b") == ""


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        ("b.a.d.w.o.r.d", ["badword"]),
        ("x b a d y", ["xbady"]),
        ("b-a-d_w o.r d!", ["badword"]),
        ("(b)(a)(d)", ["bad"]),
        ("i am a bad boy", []),
        ("a1 b2 c3", []),
        ("one b a d two x y", ["bad", "xy"]),
    ],
)
def test_spelled_runs_are_found(text: str, runs: list[str]) -> None:
    assert [letters for letters, _, _ in spelled(fold(text).text)] == runs


def test_letter_positions_point_at_the_letters() -> None:
    text = "go b.a.d now"
    ((letters, start, run),) = spelled(text)
    assert [text[i] for i in letter_positions(run, start)] == list(letters)


def test_replace_spans_merges_overlaps() -> None:
    assert replace_spans("abcdefgh", [(5, 7), (1, 3), (2, 4)], "*") == "a*e*h"
    assert replace_spans("abc", [], "*") == "abc"


def test_banned_words_match_whole_words_and_inside_spelled_runs() -> None:
    banned = BannedWords(["Bad Word", "slur"])
    text = "a bad   word, x s l u r y, slurp, b.a.d.w.o.r.d"
    spans = sorted(banned.spans(" ".join(text.split())))
    found = [" ".join(text.split())[s:e] for s, e in spans]
    assert found == ["bad word", "s l u r", "b.a.d.w.o.r.d"]
    assert not BannedWords([]) and not BannedWords(["  "]).spans("anything")


@given(st.text(max_size=300))
def test_origins_are_ordered_and_spans_stay_inside(text: str) -> None:
    folded = fold(text)
    if folded.origin is None:
        assert len(folded.text) == len(text)
        return
    origin = list(folded.origin)
    assert len(origin) == len(folded.text)
    assert origin == sorted(origin) and all(0 <= i < len(text) for i in origin)
    for start in range(len(folded.text)):
        s, e = folded.span(start, start + 1)
        assert 0 <= s < e <= len(text)
        assert folded.text[start] in fold(text[s:e]).text
