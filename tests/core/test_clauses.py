"""Cutting a message into pieces for early speech: pure text, property-tested."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streamer_tts.speech.clauses import _STRETCH, FIRST_WORDS, GROWTH, MAX_WORDS, pieces

WORDS = st.text(alphabet="abcdefgh,.!?;: -—\n'\"", max_size=300)


@given(WORDS)
def test_pieces_keep_every_word_in_order(text: str) -> None:
    assert " ".join(pieces(text)).split() == text.split()


@given(WORDS)
def test_each_piece_respects_its_growing_cap(text: str) -> None:
    for n, piece in enumerate(pieces(text)):
        assert piece and piece == piece.strip()
        assert len(piece.split()) <= min(FIRST_WORDS * GROWTH**n, MAX_WORDS) + _STRETCH


def test_clauses_end_at_punctuation() -> None:
    assert pieces("Thanks for the raid, everyone. Welcome to the stream!") == [
        "Thanks for the raid,",
        "everyone.",
        "Welcome to the stream!",
    ]


def test_a_long_first_run_is_cut_short_before_a_joining_word() -> None:
    text = "Thank you so much for the sub and the bits and the raid tonight"
    assert pieces(text) == ["Thank you so much", "for the sub and the bits and the raid tonight"]


def test_a_piece_does_not_end_leaning_on_the_next_word() -> None:
    assert pieces("Welcome everyone to the stream tonight")[0] == "Welcome everyone to the stream"
    assert pieces("Big hype train for my favourite streamer")[0] == "Big hype train"


def test_never_between_two_joining_words() -> None:
    first = pieces("Welcome everyone to the stream tonight and have a great time")[0]
    assert first == "Welcome everyone to the stream"  # not "to | the", not "the | stream"


def test_a_long_run_is_cut_into_pieces_of_at_most_max_words() -> None:
    text = " ".join(f"w{n}" for n in range(50))
    assert [len(p.split()) for p in pieces(text)] == [4, 12, 15, 15, 4]


def test_short_and_empty_texts() -> None:
    assert pieces("Hello chat!") == ["Hello chat!"]
    assert pieces("  \n ") == []
