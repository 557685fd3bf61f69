"""The moderation hold: a free message waits `hold_seconds` before it may play."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streamer_tts.core.decisions import Accepted, Control
from streamer_tts.core.events import ChatTTS, Cheer, DeleteMessage, PurgeUser
from streamer_tts.core.limits import LimitPolicy
from streamer_tts.core.queue import MessageQueue
from tests.core.helpers import admission, message, next_id, user


def chat(text: str, who: str = "alice", id: str | None = None) -> ChatTTS:
    return ChatTTS(id=id or next_id(), user=user(who), message=text)


def test_held_message_waits_then_plays() -> None:
    a = admission(hold_seconds=10.0)
    d = a.decide(chat("hello"), 100.0)
    assert isinstance(d, Accepted) and d.message.ready_at == 110.0
    assert a.next_message(109.9) is None
    assert a.queue.next_ready(105.0) == 110.0
    m = a.next_message(110.0)
    assert m is not None and m.id == d.message.id
    assert a.queue.next_ready(110.0) is None


def test_a_held_message_does_not_block_a_ready_one_behind_or_beside_it() -> None:
    q = MessageQueue(10, aging_seconds=None)
    held, ready = message("held", seq=1), message("ready", seq=2)
    held.ready_at = 50.0
    q.offer(held)
    q.offer(ready)
    assert q.peek(10.0) is ready
    assert q.pop(10.0) is ready
    assert q.pop(10.0) is None
    assert q.pop(50.0) is held


def test_paid_is_not_held_unless_hold_paid() -> None:
    a = admission(hold_seconds=10.0)
    d = a.decide(Cheer(id=next_id(), user=user("bob"), amount_bits=100, message="hi"), 0.0)
    assert isinstance(d, Accepted) and d.message.ready_at == 0.0
    a = admission(hold_seconds=10.0, hold_paid=True)
    d = a.decide(Cheer(id=next_id(), user=user("bob"), amount_bits=100, message="hi"), 0.0)
    assert isinstance(d, Accepted) and d.message.ready_at == 10.0


def test_no_hold_by_default() -> None:
    a = admission()
    d = a.decide(chat("hello"), 5.0)
    assert isinstance(d, Accepted) and d.message.ready_at == 0.0
    assert a.next_message(5.0) is d.message


def test_deleted_or_timed_out_during_the_hold_is_never_taken() -> None:
    a = admission(hold_seconds=10.0)
    first = a.decide(chat("one", id="m1"), 0.0)
    a.decide(chat("two", who="bob", id="m2"), 1.0)
    assert isinstance(first, Accepted)
    drop = a.decide(DeleteMessage(message_id="m1"), 2.0)
    assert isinstance(drop, Control) and [m.id for m in drop.dropped] == ["m1"]
    purge = a.decide(PurgeUser(login="bob", reason="timeout"), 3.0)
    assert isinstance(purge, Control) and [m.id for m in purge.dropped] == ["m2"]
    assert a.next_message(100.0) is None
    assert a.queue.next_ready(3.0) is None


# --- property: nothing plays before its hold ends; deleted ones never ------------

steps = st.lists(
    st.one_of(
        st.tuples(st.just("chat"), st.sampled_from(["a", "b", "c"])),
        st.tuples(st.just("delete"), st.integers(0, 20)),
        st.tuples(st.just("wait"), st.floats(0.0, 8.0)),
        st.tuples(st.just("take"), st.just(0)),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(steps, st.floats(0.5, 10.0))
def test_no_message_plays_before_its_hold_and_none_deleted_ever(
    script: list[tuple[str, object]], hold: float
) -> None:
    a = admission(hold_seconds=hold, limits=_no_limits())
    now = 0.0
    accepted_at: dict[str, float] = {}
    deleted: set[str] = set()
    played: set[str] = set()
    for i, (op, arg) in enumerate(script):
        if op == "chat":
            d = a.decide(chat(f"msg {i}", who=str(arg), id=f"m{i}"), now)
            if isinstance(d, Accepted):
                accepted_at[d.message.id] = now
        elif op == "delete":
            target = f"m{arg}"
            a.decide(DeleteMessage(message_id=target), now)
            if target in accepted_at and target not in played:
                deleted.add(target)
        elif op == "wait":
            now += float(arg)  # type: ignore[arg-type]
        else:
            m = a.next_message(now)
            if m is not None:
                assert now >= accepted_at[m.id] + hold
                assert m.id not in deleted
                played.add(m.id)
        nxt = a.queue.next_ready(now)
        assert nxt is None or nxt > now
    # everything left plays once its hold is over, except what was deleted
    end = now + hold
    while (m := a.next_message(end)) is not None:
        assert m.id not in deleted and m.id not in played
        played.add(m.id)
    assert played == set(accepted_at) - deleted


def _no_limits() -> LimitPolicy:
    return LimitPolicy(per_user=None, global_=None, max_pending_per_user=None)
