"""Approval: messages that wait for a moderator's OK, outside the queue."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streamer_tts.core.admission import Admission
from streamer_tts.core.decisions import Accepted, Control, ControlAction, Reason, Rejected
from streamer_tts.core.events import (
    Approve,
    Ban,
    ChatTTS,
    Cheer,
    DeleteMessage,
    QueueQuery,
    Reject,
    Role,
    Source,
)
from streamer_tts.core.limits import LimitPolicy
from streamer_tts.core.playback import Decided, Note, Playback, Record, Report
from tests.core.helpers import admission, next_id, user

MOD = user("mod", Role.MODERATOR)
EVERYONE_CHAT = {Source.CHAT: frozenset({Role.EVERYONE})}
NO_LIMITS = LimitPolicy(per_user=None, global_=None, max_pending_per_user=None)


def approving(**changes: object) -> Admission:
    return admission(approval=EVERYONE_CHAT, limits=NO_LIMITS, **changes)


def chat(text: str, who: str = "alice", *roles: Role, id: str | None = None) -> ChatTTS:
    return ChatTTS(id=id or next_id(), user=user(who, *roles), message=text)


def test_a_viewer_message_is_held_and_reported_after_its_acceptance() -> None:
    a = approving()
    d = a.decide(chat("hello", id="h1"), 0.0)
    assert isinstance(d, Accepted) and d.held
    assert "h1" not in a.queue and "h1" in a.approvals
    actions = Playback().handle(Decided(d), 0.0)
    notes = [x.note for x in actions if isinstance(x, Report)]
    assert notes == [Note.ACCEPTED, Note.HELD]
    held = next(x for x in actions if isinstance(x, Report) and x.note is Note.HELD)
    assert dict(held.fields) == {
        "id": "h1",
        "source": "chat",
        "user": "alice",
        "text": d.message.text,
    }
    ops = [x.op for x in actions if isinstance(x, Record)]
    assert len(ops) == 1 and getattr(ops[0], "held", False)
    assert a.next_message(1000.0) is None


def test_roles_not_listed_and_other_sources_are_not_held() -> None:
    a = approving()
    sub = a.decide(chat("hi", "sam", Role.SUBSCRIBER), 0.0)
    assert isinstance(sub, Accepted) and not sub.held
    cheer = a.decide(Cheer(id=next_id(), user=user("bob"), amount_bits=100, message="x"), 0.0)
    assert isinstance(cheer, Accepted) and not cheer.held


def test_approve_by_number_user_or_id_joins_the_queue() -> None:
    a = approving()
    for i, who in enumerate(["alice", "bob", "carol"]):
        a.decide(chat(f"m{i}", who, id=f"m{i}"), float(i))
    by_number = a.decide(Approve(by=MOD, target="2"), 10.0)
    assert isinstance(by_number, Control) and by_number.approved is not None
    assert by_number.approved.id == "m1" and by_number.action is ControlAction.APPROVE
    by_user = a.decide(Approve(by=MOD, target="@Carol"), 11.0)
    assert isinstance(by_user, Control) and by_user.approved is not None
    assert by_user.approved.id == "m2"
    by_id = a.decide(Approve(by=MOD, target="m0"), 12.0)
    assert isinstance(by_id, Control) and by_id.approved is not None
    assert [m.id for m in a.queue.snapshot(12.0)] == ["m1", "m2", "m0"]
    actions = Playback().handle(Decided(by_id), 12.0)
    approved = [x for x in actions if isinstance(x, Report) and x.note is Note.APPROVED]
    assert [dict(x.fields) for x in approved] == [{"id": "m0", "by": "mod"}]


def test_reject_and_timeout_end_as_dropped_with_their_reason() -> None:
    a = approving(approval_timeout_seconds=30.0)
    a.decide(chat("one", "alice", id="r1"), 0.0)
    a.decide(chat("two", "bob", id="r2"), 5.0)
    assert a.next_deadline(0.0) == 30.0
    rejected = a.decide(Reject(by=MOD, target="alice"), 1.0)
    assert isinstance(rejected, Control) and [m.id for m in rejected.dropped] == ["r1"]
    reports = [x for x in Playback().handle(Decided(rejected), 1.0) if isinstance(x, Report)]
    assert {"id": "r1", "reason": "rejected"} in [dict(r.fields) for r in reports]
    assert a.expire(34.9) is None
    expired = a.expire(35.0)
    assert expired is not None and [m.id for m in expired.dropped] == ["r2"]
    reports = [x for x in Playback().handle(Decided(expired), 35.0) if isinstance(x, Report)]
    assert {"id": "r2", "reason": "not_approved"} in [dict(r.fields) for r in reports]
    assert len(a.approvals) == 0 and a.next_deadline(35.0) is None


def test_only_moderators_approve_and_a_missing_target_is_said() -> None:
    a = approving()
    a.decide(chat("x", id="p1"), 0.0)
    refused = a.decide(Approve(by=user("bob"), target="1"), 1.0)
    assert isinstance(refused, Rejected) and refused.reason is Reason.NOT_ALLOWED
    missing = a.decide(Approve(by=MOD, target="7"), 1.0)
    assert isinstance(missing, Control) and missing.approved is None and not missing.dropped
    assert "p1" in a.approvals


def test_deleted_or_banned_while_held_is_dropped() -> None:
    a = approving()
    a.decide(chat("x", "alice", id="d1"), 0.0)
    a.decide(chat("y", "bob", id="d2"), 0.0)
    deleted = a.decide(DeleteMessage(message_id="d1"), 1.0)
    assert isinstance(deleted, Control) and [m.id for m in deleted.dropped] == ["d1"]
    banned = a.decide(Ban(by=MOD, target="bob"), 1.0)
    assert isinstance(banned, Control) and [m.id for m in banned.dropped] == ["d2"]
    assert len(a.approvals) == 0


def test_queue_reply_lists_the_numbers_to_approve() -> None:
    a = approving()
    a.decide(chat("x", "alice"), 0.0)
    a.decide(chat("y", "bob"), 0.0)
    reply = a.decide(QueueQuery(by=MOD), 1.0)
    assert isinstance(reply, Control)
    assert "awaiting approval: #1 alice, #2 bob" in reply.detail


def test_a_duplicate_of_a_held_message_is_refused() -> None:
    a = approving()
    a.decide(chat("x", id="dup"), 0.0)
    again = a.decide(chat("x", id="dup"), 1.0)
    assert isinstance(again, Rejected) and again.reason is Reason.DUPLICATE


# --- property: a held message is never played before approval; each ends once ---

ops = st.lists(
    st.one_of(
        st.tuples(st.just("chat"), st.sampled_from(["a", "b", "c"])),
        st.tuples(st.sampled_from(["ok", "no"]), st.sampled_from(["1", "2", "a", "b", "x"])),
        st.tuples(st.just("delete"), st.integers(0, 30)),
        st.tuples(st.just("wait"), st.floats(0.0, 40.0)),
        st.tuples(st.just("take"), st.just("")),
    ),
    max_size=50,
)


@settings(max_examples=200, deadline=None)
@given(ops)
def test_every_held_message_ends_exactly_once_and_never_plays_unapproved(
    script: list[tuple[str, object]],
) -> None:
    a = approving(approval_timeout_seconds=60.0)
    now = 0.0
    held: set[str] = set()
    approved: set[str] = set()
    ends: dict[str, list[str]] = {}  # id -> how it ended

    def ended(decision: object) -> None:
        if isinstance(decision, Control):
            for m in decision.dropped:
                ends.setdefault(m.id, []).append(decision.detail or str(decision.action))
            if decision.approved is not None:
                assert decision.approved.id in held
                approved.add(decision.approved.id)

    for i, (op, arg) in enumerate(script):
        expired = a.expire(now)
        if expired is not None:
            ended(expired)
        if op == "chat":
            d = a.decide(chat(f"t{i}", str(arg), id=f"m{i}"), now)
            assert isinstance(d, Accepted) and d.held
            held.add(d.message.id)
        elif op in ("ok", "no"):
            kind = Approve if op == "ok" else Reject
            ended(a.decide(kind(by=MOD, target=str(arg)), now))
        elif op == "delete":
            ended(a.decide(DeleteMessage(message_id=f"m{arg}"), now))
        elif op == "wait":
            now += float(arg)  # type: ignore[arg-type]
        else:
            m = a.next_message(now)
            if m is not None:
                assert m.id in approved, "played before approval"
                ends.setdefault(m.id, []).append("played")
    # play out what was approved; the rest runs out
    while (m := a.next_message(now)) is not None:
        assert m.id in approved
        ends.setdefault(m.id, []).append("played")
    expired = a.expire(now + 61.0)
    if expired is not None:
        ended(expired)
    assert set(ends) == held
    assert all(len(how) == 1 for how in ends.values()), ends
    allowed = {"played", "rejected", "not_approved", "deleted"}
    assert {how[0] for how in ends.values()} <= allowed
