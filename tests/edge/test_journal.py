"""The SQLite journal: round trip, transitions, restore, bounds, faults, crashes."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamer_tts.core import records
from streamer_tts.core.decisions import Message, Priority
from streamer_tts.core.events import Source
from streamer_tts.core.queue import MessageQueue
from streamer_tts.journal import (
    RESTART_REASON,
    Journal,
    JournalError,
    JournalStateError,
    State,
    plan_restore,
)
from streamer_tts.journal.database import SCHEMA_VERSION
from streamer_tts.journal.store import FILE_NAME, PRUNE_SLACK

REPO = Path(__file__).resolve().parents[2]


class Clock:
    """Wall clock for the journal: +1 s per reading."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


def msg(
    id: str, priority: Priority = Priority.NORMAL, *, paid: bool = False, seq: int = 0
) -> Message:
    return Message(id, Source.CHAT, "u", "U", priority, f"U says {id}", id, paid, seq, 0.0)


@pytest.fixture
def journal(tmp_path: Path):
    with Journal.open(tmp_path / "state", clock=Clock()) as j:
        yield j


def test_round_trip_of_every_field(tmp_path: Path) -> None:
    full = Message(
        id="cheer-1",
        source=Source.CHEER,
        user="bob",
        name="Bøb 🎉",
        priority=Priority.URGENT,
        text="Bøb cheered 500: «hi» 🎉",
        text_bare="«hi» 🎉",
        paid=True,
        seq=42,
        enqueued_at=99.5,  # the caller's clock: not stored
        interrupt=True,
        voice="en_US-joe",
        bits=500,
        spoken="",
        meta={"via": "eventsub", "amount": "5.00"},
    )
    plain = msg("chat-1", Priority.LOW, seq=43)
    with Journal.open(tmp_path, clock=Clock(5_000.0)) as j:
        j.record_accepted(full)
        j.record_accepted(plain)
    with Journal.open(tmp_path) as j:
        back, back_plain = j.pending()
        entry = j.get("cheer-1")
    for field in ("id", "source", "user", "name", "priority", "text", "text_bare", "paid"):
        assert getattr(back, field) == getattr(full, field), field
    for field in ("seq", "interrupt", "voice", "bits", "spoken", "meta"):
        assert getattr(back, field) == getattr(full, field), field
    assert isinstance(back.source, Source) and isinstance(back.priority, Priority)
    assert back.enqueued_at == 5_001.0  # wall clock at record time
    assert back_plain.voice is None and back_plain.meta == {} and not back_plain.paid
    assert entry is not None and entry.state is State.PENDING and entry.accepted_at_s == 5_001.0


def test_transitions_and_their_timestamps(journal: Journal) -> None:
    for name in "abcd":
        journal.record_accepted(msg(name))
    journal.mark_playing("a", spoken="a bare")
    journal.mark_finished("a")
    journal.mark_playing("b")
    journal.mark_skipped("b", "mod_mia")
    journal.mark_dropped("c", "queue_full")  # dropped while waiting
    journal.mark_playing("d")
    journal.requeue("d")  # interrupted by a higher tier

    a, b, c, d = (journal.get(x) for x in "abcd")
    assert a and b and c and d
    assert (a.state, a.message.spoken) == (State.FINISHED, "a bare")
    assert a.accepted_at_s < a.started_at_s < a.ended_at_s  # type: ignore[operator]
    assert (b.state, b.skipped_by) == (State.SKIPPED, "mod_mia")
    assert (c.state, c.reason, c.started_at_s) == (State.DROPPED, "queue_full", None)
    assert (d.state, d.ended_at_s) == (State.PENDING, None)
    assert [m.id for m in journal.pending()] == ["d"]
    assert [e.message.id for e in journal.history()] == ["c", "b", "a"]


def test_ended_messages_never_move_again(journal: Journal) -> None:
    journal.record_accepted(msg("a"))
    journal.mark_finished("a")  # no "started": every engine failed, nothing heard
    for move in (
        lambda: journal.mark_playing("a"),
        lambda: journal.mark_finished("a"),
        lambda: journal.mark_skipped("a", "mod"),
        lambda: journal.mark_dropped("a", "x"),
        lambda: journal.requeue("a"),
    ):
        with pytest.raises(JournalStateError, match="already finished"):
            move()
    with pytest.raises(JournalStateError, match="unknown"):
        journal.mark_playing("nope")
    assert journal.get("a").state is State.FINISHED  # type: ignore[union-attr]


def test_an_ended_id_may_come_back_a_live_one_not(journal: Journal) -> None:
    journal.record_accepted(msg("a"))
    journal.record_accepted(msg("b"))
    with pytest.raises(JournalStateError, match="already live"):
        journal.record_accepted(msg("a"))
    journal.mark_dropped("a", "queue_full")
    journal.record_accepted(msg("a", Priority.NORMAL))  # redelivered long after
    assert [m.id for m in journal.pending()] == ["b", "a"]  # the new acceptance order
    assert journal.history() == []


def test_pending_and_interrupted_in_priority_then_acceptance_order(journal: Journal) -> None:
    order = [("l1", Priority.LOW), ("n1", Priority.NORMAL), ("u1", Priority.URGENT)]
    order += [("l2", Priority.LOW), ("n2", Priority.NORMAL), ("h1", Priority.HIGH)]
    for i, (name, p) in enumerate(order):
        journal.record_accepted(msg(name, p, seq=100 - i))  # seq does not decide
    journal.mark_playing("n1")
    assert [m.id for m in journal.pending()] == ["u1", "h1", "n2", "l1", "l2"]
    assert [m.id for m in journal.interrupted()] == ["n1"]


def test_seen_ids_are_the_latest_oldest_first(journal: Journal) -> None:
    for i in range(10):
        journal.record_accepted(msg(f"m{i}"))
        journal.mark_finished(f"m{i}")
    assert journal.seen_ids(3) == ["m7", "m8", "m9"]
    assert journal.seen_ids(0) == []


def test_history_is_bounded_and_keeps_the_newest(tmp_path: Path) -> None:
    with Journal.open(tmp_path, clock=Clock(), history_max=20) as j:
        j.record_accepted(msg("waiting", paid=True))
        for i in range(300):
            j.record_accepted(msg(f"m{i}"))
            (j.mark_finished if i % 2 else j.mark_skipped)(f"m{i}", *(() if i % 2 else ("mod",)))
        assert [e.message.id for e in j.history(1_000)] == [f"m{i}" for i in range(299, 279, -1)]
    db = sqlite3.connect(tmp_path / FILE_NAME)
    ended = db.execute("SELECT count(*) FROM messages WHERE ended_at IS NOT NULL").fetchone()[0]
    db.close()
    assert 20 <= ended <= 20 + PRUNE_SLACK
    with Journal.open(tmp_path, history_max=20) as j:
        assert [m.id for m in j.pending()] == ["waiting"]  # never pruned


def test_bans_persist(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as j:
        j.ban("Troll", "mod_a")
        j.ban("spammer", "mod_b")
        j.ban("troll", "mod_c")  # again: still one ban
        j.unban("SPAMMER")
    with Journal.open(tmp_path) as j:
        assert j.bans() == {"troll"}


# --- restore -------------------------------------------------------------------


def test_restore_policy() -> None:
    pending = [msg("n1", seq=3), msg("n2", seq=4), msg("l1", Priority.LOW, seq=1)]
    interrupted = [msg("paid", paid=True, seq=2), msg("free", Priority.LOW, seq=5)]
    for i, m in enumerate([pending[2], interrupted[0], pending[0], pending[1], interrupted[1]]):
        m.enqueued_at = 1_000.0 + i  # wall-clock acceptance, as the journal hands back

    plan = plan_restore(pending, interrupted, now=50.0, wall_now_s=1_010.0)
    assert [m.id for m in plan.requeue] == ["paid", "n1", "n2", "l1"]
    assert plan.rewind == ("paid",)
    assert [m.id for m in plan.drop] == ["free"]
    assert [m.seq for m in plan.requeue] == [-4, -2, -1, -3]  # acceptance order, below 1
    assert [m.enqueued_at for m in plan.requeue] == [41.0, 42.0, 43.0, 40.0]  # waited kept

    again = plan_restore(
        pending, interrupted, now=50.0, wall_now_s=1_010.0, replay_interrupted_free=True
    )
    assert [m.id for m in again.requeue] == ["paid", "n1", "n2", "free", "l1"]
    assert again.drop == () and set(again.rewind) == {"paid", "free"}


def test_restored_messages_play_first_and_in_order(tmp_path: Path) -> None:
    """A crash mid-cheer: the cheer is read again first, then the rest in order."""
    clock = Clock()
    with Journal.open(tmp_path, clock=clock) as j:
        for i, (name, p, paid) in enumerate(
            [
                ("c1", Priority.HIGH, True),
                ("n1", Priority.NORMAL, False),
                ("h2", Priority.HIGH, False),
                ("n2", Priority.NORMAL, False),
                ("t1", Priority.NORMAL, False),
            ]
        ):
            j.record_accepted(msg(name, p, paid=paid, seq=i + 1))
        j.mark_playing("c1")
        j.mark_playing("t1")  # taken behind it, cut by the crash (free: dropped)
    with Journal.open(tmp_path, clock=clock) as j:
        plan = plan_restore(j.pending(), j.interrupted(), now=0.0, wall_now_s=clock.t)
        for m in plan.drop:
            j.mark_dropped(m.id, RESTART_REASON)
        for mid in plan.rewind:
            j.requeue(mid)
        assert [m.id for m in j.pending()] == ["c1", "h2", "n1", "n2"]
        assert j.get("t1").reason == RESTART_REASON  # type: ignore[union-attr]
    queue = MessageQueue(max_size=10, aging_seconds=None)
    for m in plan.requeue:
        assert queue.offer(m)[0]
    queue.offer(msg("new-high", Priority.HIGH, seq=1))  # the fresh Admission's first
    assert [queue.pop(0.0).id for _ in range(5)] == ["c1", "h2", "new-high", "n1", "n2"]  # type: ignore[union-attr]


# --- faults --------------------------------------------------------------------


def test_corrupt_file_is_moved_aside_and_a_fresh_journal_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / FILE_NAME
    with Journal.open(tmp_path) as j:
        j.record_accepted(msg("a"))
    garbage = os.urandom(path.stat().st_size)
    path.write_bytes(garbage)
    with caplog.at_level(logging.WARNING), Journal.open(tmp_path) as j:
        assert j.pending() == []
        j.record_accepted(msg("b"))
        assert [m.id for m in j.pending()] == ["b"]
    aside = list(tmp_path.glob(f"{FILE_NAME}.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == garbage
    assert "corrupt" in caplog.text and aside[0].name in caplog.text


def test_damaged_pages_are_found_by_quick_check(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    with Journal.open(tmp_path) as j:
        for i in range(300):
            j.record_accepted(msg(f"m{i}"))
    with path.open("r+b") as f:  # keep the header page, break the tables
        f.seek(4096 * 2)
        f.write(b"\xa5" * 4096 * 3)
    with Journal.open(tmp_path) as j:
        assert j.pending() == []
    assert len(list(tmp_path.glob(f"{FILE_NAME}.corrupt-*"))) == 1


def test_unwritable_state_dir_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    bad = tmp_path / "file" / "sub"
    with pytest.raises(JournalError) as caught:
        Journal.open(bad)
    text = str(caught.value)
    assert str(bad) in text and "Not a directory" in text and "\n" not in text


def test_a_journal_path_that_is_a_directory_is_not_moved_aside(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).mkdir()
    with pytest.raises(JournalError, match="cannot open"):
        Journal.open(tmp_path)
    assert (tmp_path / FILE_NAME).is_dir() and not list(tmp_path.glob("*.corrupt-*"))


def test_a_second_daemon_on_the_same_dir_is_refused(tmp_path: Path) -> None:
    with Journal.open(tmp_path), pytest.raises(JournalError, match="another streamer-tts"):
        Journal.open(tmp_path)
    Journal.open(tmp_path).close()  # the lock went with the first


def test_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    Journal.open(tmp_path).close()
    db = sqlite3.connect(tmp_path / FILE_NAME)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(JournalError, match="newer"):
        Journal.open(tmp_path)
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_disk_full_is_a_journal_error(journal: Journal) -> None:
    journal._db.execute("PRAGMA max_page_count = 8")  # a full disk, as SQLite sees it
    with pytest.raises(JournalError, match=r"record failed: .*full"):
        for i in range(10_000):
            journal.record_accepted(msg(f"m{i}"))


# --- crashes -------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from streamer_tts.core.decisions import Message, Priority
    from streamer_tts.core.events import Source
    from streamer_tts.journal import Journal

    j = Journal.open(Path(sys.argv[1]))
    for i in range(int(sys.argv[2])):
        m = Message(f"m{i}", Source.CHEER, "u", "U", Priority.HIGH, "t" * 200, "t", True, i, 0.0)
        j.record_accepted(m)
        print("r", m.id, flush=True)
        if i % 3 == 0:
            j.mark_playing(m.id)
            j.mark_finished(m.id)
            print("f", m.id, flush=True)
        if i == int(sys.argv[3]):
            os._exit(9)  # no close, no checkpoint, no atexit
    """
)


@pytest.mark.parametrize("how", ["sigkill", "os_exit"])
def test_every_returned_record_survives_a_kill(tmp_path: Path, how: str) -> None:
    exit_at = "1500" if how == "os_exit" else "-1"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), "100000", exit_at],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert child.stdout is not None
    lines: list[list[str]] = []
    for line in child.stdout:
        if line.endswith("\n"):  # a line cut by the kill was not a returned call
            lines.append(line.split())
        if how == "sigkill" and len(lines) == 2_000:
            child.send_signal(signal.SIGKILL)  # mid-write, as the OOM killer would
    child.wait(10)
    assert child.returncode == (-signal.SIGKILL if how == "sigkill" else 9)
    recorded = {mid for kind, mid in lines if kind == "r"}
    finished = {mid for kind, mid in lines if kind == "f"}
    assert len(recorded) >= 1_500
    with Journal.open(tmp_path) as j:
        assert not list(tmp_path.glob("*.corrupt-*"))
        live = {m.id for m in j.pending()} | {m.id for m in j.interrupted()}
        ended = {e.message.id for e in j.history(10**6)} | set(j.seen_ids(10**6))
        assert recorded <= live | ended
        for mid in finished:
            assert j.get(mid).state is State.FINISHED  # type: ignore[union-attr]


# --- the state machine against a model -------------------------------------------

IDS = ["a", "b", "c"]
_CALLS = {  # op: (the state it leads to, the call)
    "record": (State.PENDING, lambda j, mid: j.record_accepted(msg(mid))),
    "playing": (State.PLAYING, lambda j, mid: j.mark_playing(mid)),
    "finished": (State.FINISHED, lambda j, mid: j.mark_finished(mid)),
    "skipped": (State.SKIPPED, lambda j, mid: j.mark_skipped(mid, "mod")),
    "dropped": (State.DROPPED, lambda j, mid: j.mark_dropped(mid, "why")),
    "requeue": (State.PENDING, lambda j, mid: j.requeue(mid)),
}


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([*_CALLS, "reopen"]), st.sampled_from(IDS)),
        min_size=1,
        max_size=60,
    )
)
def test_random_transitions_match_a_model(steps: list[tuple[str, str]]) -> None:
    model: dict[str, State] = {}
    live = (State.PENDING, State.PLAYING)
    with tempfile.TemporaryDirectory() as tmp:
        j = Journal.open(Path(tmp), clock=Clock())
        try:
            for op, mid in steps:
                if op == "reopen":
                    j.close()
                    j = Journal.open(Path(tmp), clock=Clock(10_000.0))
                    continue
                allowed = model.get(mid) not in live if op == "record" else model.get(mid) in live
                to, call = _CALLS[op]
                if allowed:
                    call(j, mid)
                    model[mid] = to
                else:
                    with pytest.raises(JournalStateError):
                        call(j, mid)
                for x in IDS:
                    entry = j.get(x)
                    assert (entry.state if entry else None) == model.get(x)

            def having(*states: State) -> set[str]:
                return {k for k, v in model.items() if v in states}

            assert {m.id for m in j.pending()} == having(State.PENDING)
            assert {m.id for m in j.interrupted()} == having(State.PLAYING)
            assert {e.message.id for e in j.history()} == having(*(s for s in State if s.ended))
        finally:
            j.close()


def test_a_turn_is_written_whole_or_not_at_all(journal: Journal) -> None:
    journal.record_accepted(msg("a"))
    problems = journal.apply(
        [records.MarkPlaying("a", spoken="A"), records.Accept(msg("b")), records.MarkFinished("x")]
    )
    assert problems and "'x'" in problems[0]  # a refused step is told, the others stay
    assert journal.get("a").state is State.PLAYING  # type: ignore[union-attr]
    journal._db.execute("PRAGMA max_page_count = 8")  # then the disk fills up
    with pytest.raises(JournalError, match="full"):
        journal.apply(
            [records.MarkFinished("a")] + [records.Accept(msg(f"m{i}")) for i in range(500)]
        )
    assert journal.get("a").state is State.PLAYING  # type: ignore[union-attr]
    assert journal.get("m0") is None  # nothing of the failed turn was kept


def test_full_sync_is_for_one_commit_only(journal: Journal) -> None:
    journal.apply([records.Accept(msg("paid", paid=True))], full_sync=True)
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL again
    assert journal.get("paid") is not None


def test_failed_is_an_end_kept_in_the_history(journal: Journal) -> None:
    journal.record_accepted(msg("f", paid=True))
    journal.apply([records.MarkPlaying("f"), records.MarkFailed("f", "cartesia: 500")])
    entry = journal.get("f")
    assert entry is not None and entry.state is State.FAILED and entry.reason == "cartesia: 500"
    assert journal.pending() == [] and journal.interrupted() == []
    assert [e.message.id for e in journal.history()] == ["f"]
    with pytest.raises(JournalStateError):
        journal.requeue("f")


def test_a_v1_journal_is_upgraded_in_place(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as j:
        j.record_accepted(msg("old", paid=True))
        j.mark_finished("old")
        j.record_accepted(msg("waiting"))
    db = sqlite3.connect(tmp_path / FILE_NAME)  # back to what version 1 wrote
    db.executescript(
        "ALTER TABLE messages DROP COLUMN sound; ALTER TABLE messages RENAME TO v2; DROP INDEX messages_live; DROP INDEX messages_ended;"
    )
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'v2'").fetchone()[0]
    db.executescript(
        sql.replace('CREATE TABLE "v2"', "CREATE TABLE messages").replace(", 'failed'", "")
        + "; INSERT INTO messages SELECT * FROM v2; DROP TABLE v2; PRAGMA user_version = 1;"
    )
    db.close()
    with Journal.open(tmp_path) as j:
        assert [m.id for m in j.pending()] == ["waiting"]
        assert [e.message.id for e in j.history()] == ["old"]
        j.mark_failed("waiting", "every engine failed")
        assert j.get("waiting").state is State.FAILED  # type: ignore[union-attr]
    db = sqlite3.connect(tmp_path / FILE_NAME)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
