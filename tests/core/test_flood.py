"""Flood mode: above `flood_threshold` free messages waiting, names are not
read and free messages below `flood_min_priority` are refused, until fewer
than half the threshold wait."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streamer_tts.core.decisions import Accepted, Priority, Reason, Rejected
from streamer_tts.core.events import Announce, ChatTTS, Cheer, User
from streamer_tts.core.limits import LimitPolicy
from streamer_tts.core.moderation import Flood
from streamer_tts.core.rules import NameMode
from tests.core.helpers import admission, next_id, user

NO_LIMITS = LimitPolicy(per_user=None, global_=None, max_pending_per_user=None)


def chat(who: str = "alice") -> ChatTTS:
    return ChatTTS(id=next_id(), user=user(who), message=f"hello from {who}")


def test_flood_refuses_low_free_messages_and_stops_reading_names() -> None:
    a = admission(flood_threshold=4, limits=NO_LIMITS, read_usernames=NameMode.ALWAYS)
    for i in range(5):
        assert isinstance(a.decide(chat(f"u{i}"), 0.0), Accepted)
        flipped = a.update_flood()
        assert flipped is (True if i == 4 else None)
    refused = a.decide(chat("late"), 1.0)
    assert isinstance(refused, Rejected) and refused.reason is Reason.FLOOD
    # paid, and free at or above flood_min_priority (high), still get in
    paid = a.decide(Cheer(id=next_id(), user=user("bob"), amount_bits=100, message="x"), 1.0)
    assert isinstance(paid, Accepted)
    urgent = Announce(id=next_id(), user=User("api"), message="brb", priority="high")
    assert isinstance(a.decide(urgent, 1.0), Accepted)
    played = [a.next_message(2.0) for _ in range(3)]
    chats = [m for m in played if m is not None and m.source.value == "chat"]
    assert chats and all(m.spoken == m.text_bare for m in chats)  # no names in a flood
    while a.queue.free_waiting() >= 2:  # half of 4: flood mode ends below it
        a.next_message(3.0)
    assert a.update_flood() is False
    again = a.decide(chat("again"), 4.0)
    assert isinstance(again, Accepted)
    rest = [m for _ in range(5) if (m := a.next_message(5.0)) is not None]
    assert rest[-1] is again.message and again.message.spoken == again.message.text


def test_flood_min_priority_is_configurable() -> None:
    a = admission(flood_threshold=1, limits=NO_LIMITS, flood_min_priority=Priority.LOW)
    for i in range(3):
        assert isinstance(a.decide(chat(f"u{i}"), 0.0), Accepted)
        a.update_flood()
    assert a.flood.on


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 30), st.lists(st.integers(0, 60), max_size=60))
def test_flood_has_hysteresis(threshold: int, depths: list[int]) -> None:
    flood = Flood(threshold)
    for depth in depths:
        before = flood.on
        changed = flood.update(depth)
        if changed is None:
            assert flood.on is before
        else:
            assert flood.on is changed and changed is not before
        if depth > threshold:
            assert flood.on
        if depth < threshold / 2:
            assert not flood.on
