"""The bounded priority queue: levels, FIFO, aging, eviction, paid safety."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streamer_tts.core.decisions import Message, Priority
from streamer_tts.core.queue import MessageQueue
from tests.core.helpers import message


def test_higher_level_first_fifo_within_level() -> None:
    q = MessageQueue(10, aging_seconds=None)
    for i, p in enumerate([Priority.LOW, Priority.HIGH, Priority.NORMAL, Priority.HIGH]):
        q.offer(message(f"m{i}", p, seq=i))
    assert [q.pop(0).id for _ in range(4)] == ["m1", "m3", "m2", "m0"]  # type: ignore[union-attr]
    assert q.pop(0) is None


def test_aging_lifts_a_starved_message() -> None:
    q = MessageQueue(10, aging_seconds=60)
    q.offer(message("old-low", Priority.LOW, seq=1, at=0))
    q.offer(message("new-normal", Priority.NORMAL, seq=2, at=59))
    assert q.peek(59).id == "new-normal"  # type: ignore[union-attr]
    # after 60 s the low one counts as normal and is older: it goes first
    assert q.peek(60).id == "old-low"  # type: ignore[union-attr]
    assert q.effective(q.get("old-low"), 1000) is Priority.URGENT  # type: ignore[arg-type]


def test_full_queue_evicts_newest_lowest_free() -> None:
    q = MessageQueue(3, aging_seconds=None)
    q.offer(message("low1", Priority.LOW, seq=1))
    q.offer(message("low2", Priority.LOW, seq=2))
    q.offer(message("norm", Priority.NORMAL, seq=3))
    admitted, evicted = q.offer(message("high", Priority.HIGH, seq=4))
    assert admitted and evicted is not None and evicted.id == "low2"
    assert "low2" not in q and len(q) == 3


def test_full_queue_rejects_equal_or_lower_arrival() -> None:
    q = MessageQueue(2, aging_seconds=None)
    q.offer(message("a", Priority.NORMAL, seq=1))
    q.offer(message("b", Priority.NORMAL, seq=2))
    assert q.offer(message("c", Priority.NORMAL, seq=3)) == (False, None)
    assert q.offer(message("d", Priority.LOW, seq=4)) == (False, None)


def test_paid_never_evicted_by_free() -> None:
    q = MessageQueue(2, aging_seconds=None)
    q.offer(message("paid-low", Priority.LOW, seq=1, paid=True))
    q.offer(message("paid-low2", Priority.LOW, seq=2, paid=True))
    assert q.offer(message("free-urgent", Priority.URGENT, seq=3)) == (False, None)
    assert len(q) == 2


def test_paid_arrival_overflows_rather_than_lost() -> None:
    q = MessageQueue(2, aging_seconds=None)
    q.offer(message("p1", Priority.NORMAL, seq=1, paid=True))
    q.offer(message("p2", Priority.NORMAL, seq=2, paid=True))
    admitted, evicted = q.offer(message("p3", Priority.LOW, seq=3, paid=True))
    assert admitted and evicted is None and len(q) == 3


def test_paid_arrival_evicts_free_of_any_level() -> None:
    q = MessageQueue(2, aging_seconds=None)
    q.offer(message("free-high", Priority.HIGH, seq=1))
    q.offer(message("paid", Priority.NORMAL, seq=2, paid=True))
    admitted, evicted = q.offer(message("paid-low", Priority.LOW, seq=3, paid=True))
    assert admitted and evicted is not None and evicted.id == "free-high"


def test_push_front_returns_to_head_of_level() -> None:
    q = MessageQueue(5, aging_seconds=None)
    q.offer(message("a", Priority.HIGH, seq=2))
    q.offer(message("b", Priority.HIGH, seq=3))
    q.push_front(message("cut", Priority.HIGH, seq=1))
    assert [m.id for m in q.snapshot(0)] == ["cut", "a", "b"]
    assert q.pop(0).id == "cut"  # type: ignore[union-attr]


def test_pending_counts_free_messages_only() -> None:
    q = MessageQueue(10, aging_seconds=None)
    q.offer(message("f1", seq=1, login="x"))
    q.offer(message("p1", seq=2, login="x", paid=True))
    assert q.pending_for("x") == 1  # paid messages do not count
    q.remove("f1")
    assert q.pending_for("x") == 0 and "p1" in q


def test_an_aged_free_message_never_passes_a_paid_one() -> None:
    q = MessageQueue(10, aging_seconds=60)
    q.offer(message("old-free-low", Priority.LOW, seq=1, at=0))
    q.offer(message("free-normal", Priority.NORMAL, seq=2, at=10))
    q.offer(message("paid-normal", Priority.NORMAL, seq=3, at=10, paid=True))
    # at 600 s the free low one counts as urgent among free messages, but not
    # against money: the paid one (aged too) goes first, then the free ones in
    # their aged order
    assert [m.id for m in q.snapshot(600)] == ["paid-normal", "old-free-low", "free-normal"]
    assert [q.pop(600).id for _ in range(3)] == [  # type: ignore[union-attr]
        "paid-normal",
        "old-free-low",
        "free-normal",
    ]


def test_a_free_message_of_a_higher_base_level_still_goes_first() -> None:
    q = MessageQueue(10, aging_seconds=60)
    q.offer(message("paid-low", Priority.LOW, seq=1, at=0, paid=True))
    q.offer(message("free-high", Priority.HIGH, seq=2, at=0))
    assert q.peek(0).id == "free-high"  # type: ignore[union-attr]
    assert q.peek(120).id == "paid-low"  # type: ignore[union-attr]  # aged to high, older


# --- properties ---------------------------------------------------------------

ops = st.lists(
    st.one_of(
        st.tuples(st.just("offer"), st.sampled_from(list(Priority)), st.booleans()),
        st.tuples(st.just("pop"), st.just(Priority.LOW), st.just(False)),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(ops, st.integers(min_value=1, max_value=8))
def test_no_message_leaves_while_a_higher_one_waits(script: list, size: int) -> None:
    """Without aging: every pop is of the highest waiting level, FIFO inside it."""
    q = MessageQueue(size, aging_seconds=None)
    seq = 0
    for op, priority, paid in script:
        if op == "offer":
            seq += 1
            q.offer(message(f"m{seq}", priority, seq=seq, paid=paid))
        else:
            waiting = list(q)
            got = q.pop(0)
            if got is None:
                assert not waiting
                continue
            top = max(m.priority for m in waiting)
            assert got.priority == top
            assert got.seq == min(m.seq for m in waiting if m.priority == top)
        free = [m for m in q if not m.paid]
        assert len(free) <= size  # the bound holds for free messages


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(list(Priority)), st.floats(0, 50)), min_size=1, max_size=60),
    st.floats(min_value=1, max_value=100),
)
def test_aging_bound_holds(arrivals: list, aging: float) -> None:
    """A message that waited (URGENT - p) * aging is served before anything newer."""
    q = MessageQueue(1000, aging_seconds=aging)
    now = 0.0
    for seq, (priority, gap) in enumerate(arrivals, 1):
        now += gap
        q.offer(message(f"m{seq}", priority, seq=seq, at=now))
    clock = now
    while len(q):
        got = q.pop(clock)
        assert got is not None
        for other in q:
            waited = clock - other.enqueued_at
            if waited >= (Priority.URGENT - other.priority) * aging:
                assert got.seq < other.seq or q.effective(got, clock) == Priority.URGENT
        clock += 1.0


@settings(max_examples=200, deadline=None)
@given(ops)
def test_paid_messages_are_never_lost(script: list) -> None:
    q = MessageQueue(3, aging_seconds=None)
    seq, paid_in, paid_out = 0, set(), set()
    for op, priority, paid in script:
        if op == "offer":
            seq += 1
            admitted, evicted = q.offer(message(f"m{seq}", priority, seq=seq, paid=paid))
            assert evicted is None or not evicted.paid
            if paid:
                assert admitted
                paid_in.add(f"m{seq}")
        else:
            got = q.pop(0)
            if got is not None and got.paid:
                paid_out.add(got.id)
    assert paid_in == paid_out | {m.id for m in q if m.paid}


timed_ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("offer"), st.sampled_from(list(Priority)), st.booleans(), st.floats(0, 90)
        ),
        st.tuples(st.just("pop"), st.just(Priority.LOW), st.just(False), st.floats(0, 90)),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(timed_ops, st.floats(min_value=1, max_value=100))
def test_aging_never_lets_a_free_message_overtake_a_paid_one(script: list, aging: float) -> None:
    """Each pop is the best of its kind (paid or free, aging counted), and a free
    one leaves before a waiting paid one only on its base level."""
    q = MessageQueue(1000, aging_seconds=aging)
    now, seq = 0.0, 0
    for op, priority, paid, gap in script:
        now += gap
        if op == "offer":
            seq += 1
            q.offer(message(f"m{seq}", priority, seq=seq, at=now, paid=paid))
            continue
        waiting = list(q)
        assert q.snapshot(now)[:1] == [q.peek(now)] if waiting else q.peek(now) is None
        got = q.pop(now)
        if got is None:
            assert not waiting
            continue

        def rank(m: Message, at: float = now) -> tuple[int, int]:
            return (q.effective(m, at), -m.seq)

        same_kind = [m for m in waiting if m.paid == got.paid]
        assert rank(got) == max(rank(m) for m in same_kind)
        if not got.paid:
            for p in (m for m in waiting if m.paid):
                assert (got.priority, -got.seq) > rank(p)
