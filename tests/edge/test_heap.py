"""Full garbage collections run only while nothing sounds (audio/heap.py)."""

from __future__ import annotations

import gc

from hypothesis import given
from hypothesis import strategies as st

from streamer_tts.audio.heap import (
    EVERY_S,
    IDLE_S,
    MAX_DEFER_S,
    NO_AUTOMATIC_FULL,
    QuietCollector,
    due,
)


class Rig:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sounding = True
        self.collected: list[float] = []
        self.heap = QuietCollector(
            lambda: not self.sounding,
            clock=lambda: self.now,
            collect=lambda: self.collected.append(self.now),
        )

    def run(self, seconds: float, *, step: float = 0.25) -> None:
        end = self.now + seconds
        while self.now < end:
            self.now += step
            self.heap.tick()


@given(
    now=st.floats(0, 10_000),
    since_last=st.floats(0, 2 * MAX_DEFER_S),
    idle_for=st.one_of(st.none(), st.floats(0, 100)),
)
def test_due_only_when_idle_long_enough_or_deferred_too_long(
    now: float, since_last: float, idle_for: float | None
) -> None:
    idle_since = None if idle_for is None else now - idle_for
    answer = due(now=now, last=now - since_last, idle_since=idle_since)
    if since_last >= MAX_DEFER_S:
        assert answer
    elif idle_for is None or idle_for < IDLE_S or since_last < EVERY_S:
        assert not answer, "a full collection while sounding (or too soon)"
    else:
        assert answer


def test_collects_in_the_first_idle_moment_after_the_interval() -> None:
    rig = Rig()
    rig.run(EVERY_S + 5)
    assert rig.collected == [], "never while a message sounds"
    rig.sounding = False
    rig.run(IDLE_S - 0.25)
    assert rig.collected == [], "not in a gap between two messages"
    rig.run(0.5)
    assert len(rig.collected) == 1
    rig.run(EVERY_S - 1)
    assert len(rig.collected) == 1, "at most every EVERY_S"


def test_a_queue_that_never_empties_still_gets_collected() -> None:
    rig = Rig()
    rig.run(MAX_DEFER_S * 2 + 1, step=1.0)
    assert len(rig.collected) == 2


def test_automatic_full_collections_are_off_while_started_and_restored_after() -> None:
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    one, two = QuietCollector(lambda: True), QuietCollector(lambda: True)
    one.start()
    two.start()  # (nested players share one activation)
    try:
        assert gc.get_threshold() == (before[0], before[1], NO_AUTOMATIC_FULL)
        assert gc.get_freeze_count() > frozen, "what lives at start is out of the walks"
        one.stop()
        assert gc.get_threshold()[2] == NO_AUTOMATIC_FULL, "the other still plays"
    finally:
        one.stop()
        two.stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen
