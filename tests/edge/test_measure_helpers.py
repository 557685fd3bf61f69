"""The sound tests' own measuring: a dropout inside a message is not a gap."""

from __future__ import annotations

from tests.edge.stack import MEND_MS, RECORD_RATE, _mend  # pyright: ignore[reportPrivateUsage]


def ms(x: float) -> float:
    return x * RECORD_RATE / 1000


def test_a_short_hole_inside_one_tone_is_mended_and_reported() -> None:
    holes: list[float] = []
    spans = [(ms(0), ms(268)), (ms(302), ms(305)), (ms(345), ms(360)), (ms(900), ms(1200))]
    mended = _mend(spans, holes)
    assert mended == [(ms(0), ms(360)), (ms(900), ms(1200))]  # the next message stays apart
    assert holes == [34.0, 40.0]


def test_a_hole_as_long_as_a_message_apart_is_not_mended() -> None:
    holes: list[float] = []
    spans = [(ms(0), ms(300)), (ms(300 + MEND_MS), ms(700))]
    assert _mend(spans, holes) == spans
    assert holes == []
