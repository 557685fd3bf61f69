"""The playback state machine, fed random input sequences (as h11 tests its states).

Inputs come in any order, including ones a real player would never send (a
start for a message never committed, a finish after a cut): the promises
must hold whatever arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from streamer_tts.core import records
from streamer_tts.core.decisions import (
    Accepted,
    Control,
    ControlAction,
    Message,
    Priority,
    Reason,
    Rejected,
)
from streamer_tts.core.events import Source
from streamer_tts.core.playback import (
    Cut,
    CutAudio,
    Decided,
    Failed,
    Finished,
    Forget,
    Lost,
    Low,
    Note,
    PauseAudio,
    Play,
    Playback,
    Record,
    Report,
    Requeue,
    ResumeAudio,
    Started,
    Stop,
    Taken,
)

N = 6
ENDINGS = {Note.FINISHED, Note.SKIPPED, Note.FAILED, Note.INTERRUPTED, Note.DROPPED}


def message(i: int, priority: Priority = Priority.NORMAL, interrupt: bool = False) -> Message:
    return Message(
        id=f"m{i}",
        source=Source.CHEER if interrupt else Source.CHAT,
        user=f"u{i % 3}",
        name=f"U{i}",
        priority=priority,
        text=f"text {i}",
        text_bare="",
        paid=interrupt,
        seq=i,
        enqueued_at=0.0,
        interrupt=interrupt,
    )


@dataclass
class Harness:
    """Drives a Playback like the conductor does, and checks every promise."""

    pb: Playback = field(default_factory=Playback)
    queue: list[Message] = field(default_factory=list)
    known: set[str] = field(default_factory=set)
    open_takes: set[str] = field(default_factory=set)
    low_seen: set[str] = field(default_factory=set)
    cut: set[str] = field(default_factory=set)
    takes: int = 0
    ends: int = 0
    now: float = 0.0

    def feed(self, event: object) -> list[object]:
        self.now += 0.01
        if isinstance(event, Low) and event.id in self.pb.committed:
            self.low_seen.add(event.id)
        actions = self.pb.handle(event, self.now)  # type: ignore[arg-type]
        self.check(event, list(actions))
        return list(actions)

    def check(self, event: object, actions: list[object]) -> None:
        ended_now: set[str] = set()
        for a in actions:
            if isinstance(a, Play):
                before = [m for m in self.pb.committed if m != a.message.id]
                # never two sounding: a second only behind one nearly over
                assert len(before) == 0 or (len(before) == 1 and before[0] in self.low_seen)
                assert isinstance(event, Taken)
                self.open_takes.add(a.message.id)
                self.cut.discard(a.message.id)
                self.takes += 1
            elif isinstance(a, CutAudio):
                self.cut.add(a.id)
            elif isinstance(a, Requeue):
                self.queue.insert(0, a.message)
            elif isinstance(a, Report) and a.note in ENDINGS:
                mid = str(a.fields["id"])
                if a.note is Note.FAILED and not a.fields.get("final"):
                    continue
                if a.note is Note.FINISHED:
                    assert mid not in self.cut, f"{mid} was cut, then reported finished"
                if mid in self.open_takes:
                    assert mid not in ended_now
                    self.open_takes.discard(mid)
                    ended_now.add(mid)
                    self.ends += 1
                else:  # only a waiting message may end without having been taken
                    assert a.note is Note.DROPPED, (a, event)
        assert len(self.pb.committed) <= 2
        assert set(self.pb.committed) == self.open_takes
        for mid in ended_now:
            self.low_seen.discard(mid)

    def accept(self, m: Message) -> None:
        if m.id in self.known:
            return
        self.known.add(m.id)
        self.queue.append(m)
        actions = self.feed(Decided(Accepted(m)))
        assert any(isinstance(a, Record) and isinstance(a.op, records.Accept) for a in actions)

    def take(self) -> None:
        if not self.queue or not self.pb.wants_next():
            return
        best = max(self.queue, key=lambda m: m.priority)
        self.queue.remove(best)
        self.feed(Taken(best))

    def control(self, action: ControlAction, target: Message | None) -> None:
        playing = self.pb.playing
        dropped: tuple[Message, ...] = ()
        skip = ""
        if action is ControlAction.SKIP:
            skip = playing.id if playing else ""
        elif action is ControlAction.DROP and target is not None:
            if target in self.queue:
                self.queue.remove(target)
                dropped = (target,)
            elif target.id in self.pb.committed and target is not playing:
                dropped = (target,)
            if playing is not None and playing.id == target.id:
                skip = target.id
        self.feed(Decided(Control(action, "mod", target.id if target else "", skip, dropped)))


STEP = st.one_of(
    st.tuples(st.just("accept"), st.integers(0, N - 1), st.sampled_from(list(Priority))),
    st.tuples(st.just("take"), st.just(0), st.just(0)),
    st.tuples(
        st.sampled_from(["started", "low", "finished", "cut", "failed", "final", "lost", "drop"]),
        st.integers(0, N - 1),
        st.just(0),
    ),
    st.tuples(
        st.sampled_from(["skip", "pause", "resume", "reject", "stop"]), st.just(0), st.just(0)
    ),
)


def run(steps: list[tuple[str, int, object]]) -> Harness:
    h = Harness()
    messages: dict[int, Message] = {}
    for kind, i, extra in steps:
        mid = f"m{i}"
        if kind == "accept":
            prio = extra if isinstance(extra, Priority) else Priority.NORMAL
            m = messages.setdefault(i, message(i, prio, interrupt=prio is Priority.URGENT))
            h.accept(m)
        elif kind == "take":
            h.take()
        elif kind == "started":
            h.feed(Started(mid, "tone", 1.0))
        elif kind == "low":
            h.feed(Low(mid))
        elif kind == "finished":
            h.feed(Finished(mid))
        elif kind == "cut":
            h.feed(Cut(mid))
        elif kind in ("failed", "final"):
            h.feed(Failed(mid, "tone", "boom", final=kind == "final"))
        elif kind == "lost":
            h.feed(Lost(mid))
        elif kind == "drop":
            h.control(ControlAction.DROP, messages.get(i))
        elif kind == "skip":
            h.control(ControlAction.SKIP, None)
        elif kind == "pause":
            h.control(ControlAction.PAUSE, None)
        elif kind == "resume":
            h.control(ControlAction.RESUME, None)
        elif kind == "reject":
            h.feed(Decided(Rejected(Reason.EMPTY, Source.CHAT, "x")))
        elif kind == "stop":
            h.feed(Stop())
    # drain: whatever is committed ends, so every take has ended
    for mid in list(h.pb.committed):
        h.feed(Finished(mid))
    return h


@settings(max_examples=400, deadline=None)
@given(st.lists(STEP, max_size=60))
def test_promises_hold_for_any_input_sequence(steps: list[tuple[str, int, object]]) -> None:
    h = run(steps)
    assert not h.open_takes
    assert h.takes == h.ends  # every take ended exactly once
    assert h.pb.idle and h.pb.playing is None


def test_a_play_through() -> None:
    pb = Playback()
    m = message(1)
    assert isinstance(pb.handle(Decided(Accepted(m)), 0)[0], Record)
    assert pb.wants_next()
    assert pb.handle(Taken(m), 0) == [Play(m)]
    started = pb.handle(Started("m1", "tone", 12.34), 0.1)
    assert started[0] == Record(records.MarkPlaying("m1", spoken=""))
    assert pb.playing is m and not pb.wants_next()
    assert pb.handle(Low("m1"), 0.2) == [] and pb.wants_next()
    finished = pb.handle(Finished("m1"), 0.3)
    assert finished == [
        Record(records.MarkFinished("m1")),
        Report(Note.FINISHED, {"id": "m1"}),
    ]
    assert pb.idle and pb.playing is None


def test_skip_cuts_and_reports_silence_after_the_fade() -> None:
    pb = Playback()
    m = message(1)
    pb.handle(Taken(m), 0)
    pb.handle(Started("m1"), 0)
    actions = pb.handle(Decided(Control(ControlAction.SKIP, "mod", skip_id="m1")), 1.0)
    assert CutAudio("m1") in actions
    assert Record(records.MarkSkipped("m1", "mod")) in actions
    assert pb.handle(Finished("m1"), 1.01) == []  # a late finish of a cut message
    assert pb.handle(Cut("m1"), 1.02) == [Report(Note.SILENCED, {"id": "m1", "after_ms": 20.0})]


def test_interrupt_requeues_what_is_committed_and_cuts_it() -> None:
    pb = Playback()
    low, behind, big = message(1), message(2), message(3, Priority.URGENT, interrupt=True)
    pb.handle(Taken(low), 0)
    pb.handle(Started("m1"), 0)
    pb.handle(Low("m1"), 0)
    pb.handle(Taken(behind), 0)
    actions = pb.handle(Decided(Accepted(big)), 1)
    cuts = [a.id for a in actions if isinstance(a, CutAudio)]
    assert cuts == ["m2", "m1"]  # the one behind first, then the one playing
    assert [a.message.id for a in actions if isinstance(a, Requeue)] == ["m2", "m1"]
    assert pb.idle


def test_final_failure_is_never_finished_and_is_recorded() -> None:
    pb = Playback()
    pb.handle(Taken(message(1)), 0)
    assert pb.handle(Failed("m1", "cartesia", "500", final=False), 0) == [
        Report(Note.FAILED, {"id": "m1", "engine": "cartesia", "error": "500"})
    ]
    actions = pb.handle(Failed("m1", "cartesia", "500", final=True), 0)
    assert Record(records.MarkFailed("m1", "500")) in actions
    assert pb.handle(Finished("m1"), 0) == []


def test_a_lost_device_requeues_a_paid_message_and_drops_a_free_one() -> None:
    pb = Playback()
    paid, free = message(1, Priority.HIGH, interrupt=True), message(2)
    pb.handle(Taken(paid), 0)
    pb.handle(Started("m1"), 0)
    actions = pb.handle(Lost("m1"), 1)
    assert CutAudio("m1") in actions
    assert [a.message.id for a in actions if isinstance(a, Requeue)] == ["m1"]
    assert pb.handle(Cut("m1"), 1) == []  # the fade's report ends nothing twice
    pb.handle(Taken(free), 2)
    pb.handle(Started("m2"), 2)
    actions = pb.handle(Lost("m2"), 3)
    assert not [a for a in actions if isinstance(a, Requeue)]
    assert Report(Note.DROPPED, {"id": "m2", "reason": "audio_lost"}) in actions
    assert pb.idle
    assert pb.handle(Lost("m2"), 4) == []  # a late second report changes nothing


def test_pause_holds_the_choice_and_stop_takes_nothing_new() -> None:
    pb = Playback()
    assert pb.handle(Decided(Control(ControlAction.PAUSE, "mod")), 0)[-1] == PauseAudio()
    assert not pb.wants_next()
    assert pb.handle(Decided(Control(ControlAction.RESUME, "mod")), 0)[-1] == ResumeAudio()
    assert pb.wants_next()
    pb.handle(Stop(), 0)
    assert not pb.wants_next() and pb.handle(Taken(message(1)), 0) == []


def test_a_dropped_waiting_message_forgets_its_prefetch() -> None:
    pb = Playback()
    m = message(4)
    actions = pb.handle(
        Decided(Control(ControlAction.DROP, "twitch", "m4", dropped=(m,), detail="deleted")), 0
    )
    assert Forget("m4") in actions and Record(records.MarkDropped("m4", "deleted")) in actions
