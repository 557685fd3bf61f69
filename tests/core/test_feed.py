"""The feed, pulled by hand: exact gaps, cuts, pause, events, bounds, one voice at a time.

At 1000 Hz one frame is one millisecond, so every expectation below is in
plain ms. Segment audio is a constant level (or a counting ramp when the
position matters), which makes every frame's origin checkable.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamer_tts.audio import feed as feed_module
from streamer_tts.audio.feed import Feed, FeedError, FeedEvent
from streamer_tts.audio.jitter import RECENT_MESSAGES, JitterEstimate
from streamer_tts.audio.pcm import PcmFormat

FMT = PcmFormat(1000)
RAMP = 5  # frames = ms at 1000 Hz


def level(value: int, frames: int) -> bytes:
    return np.full(frames, value, dtype="<i2").tobytes()


def counting(start: int, frames: int) -> bytes:
    return (np.arange(start, start + frames) * 10).astype("<i2").tobytes()


def vals(data: bytes) -> list[int]:
    return np.frombuffer(data, dtype="<i2").tolist()


class Harness:
    def __init__(self, **kwargs: object) -> None:
        self.events: list[FeedEvent] = []
        opts = {"gap_ms": 0, "ramp_ms": RAMP, "max_preroll_ms": 0, **kwargs}
        self.feed = Feed(FMT, on_event=self.events.append, clock=self.clock, **opts)  # type: ignore[arg-type]

    def clock(self) -> float:
        """The feed's clock: the device's (one frame pulled per ms), as in real time."""
        return self.feed.frames_pulled / FMT.sample_rate

    def add(self, mid: str, pcm: bytes, *, end: bool = True) -> None:
        self.feed.begin(mid)
        assert self.feed.write(mid, pcm)
        if end:
            self.feed.end(mid)

    def pull(self, frames: int, *, step: int = 7) -> list[int]:
        """Pull in awkward chunk sizes: results must not depend on the device's buffer size."""
        out = b""
        while frames > 0:
            n = min(step, frames)
            out += self.feed.pull(n)
            frames -= n
        return vals(out)

    def kinds(self) -> list[tuple[str, str, int]]:
        return [(e.kind, e.message_id, e.frame) for e in self.events]


def test_idle_feed_pulls_exact_silence() -> None:
    h = Harness()
    assert h.feed.pull(0) == b""
    assert h.feed.pull(256) == bytes(512)
    assert h.feed.frames_pulled == 256
    assert h.feed.sounding is None


def test_gap_between_queued_segments_is_exact() -> None:
    h = Harness(gap_ms=30)
    h.add("a", level(1000, 100))
    h.add("b", level(2000, 50))
    out = h.pull(200)
    assert out == [1000] * 100 + [0] * 30 + [2000] * 50 + [0] * 20


def test_gap_zero_is_seamless() -> None:
    h = Harness(gap_ms=0)
    h.add("a", level(1000, 10))
    h.add("b", level(2000, 10))
    assert h.pull(25, step=3) == [1000] * 10 + [2000] * 10 + [0] * 5


def test_idle_time_counts_toward_the_gap() -> None:
    h = Harness(gap_ms=30)
    h.add("a", level(1000, 10))
    assert h.pull(20) == [1000] * 10 + [0] * 10
    h.add("b", level(2000, 5))  # 10 ms of the gap already heard
    assert h.pull(30) == [0] * 20 + [2000] * 5 + [0] * 5


def test_no_extra_silence_after_a_long_idle() -> None:
    h = Harness(gap_ms=30)
    h.add("a", level(1000, 10))
    h.pull(500)
    h.add("b", level(2000, 5))
    assert h.pull(8) == [2000] * 5 + [0] * 3


def test_first_segment_starts_at_once() -> None:
    h = Harness(gap_ms=300)
    h.add("a", level(1000, 3))
    assert h.pull(4) == [1000, 1000, 1000, 0]


def test_cut_ramps_to_zero_then_silence_and_drops_the_rest() -> None:
    h = Harness()
    h.add("a", level(10000, 1000))
    h.pull(100)
    assert h.feed.cut("a") is True
    out = h.pull(50, step=2)
    assert out[:RAMP] == [8000, 6000, 4000, 2000, 0]
    assert out[RAMP:] == [0] * 45
    assert h.feed.sounding is None
    assert h.feed.buffered_frames("a") == 0
    assert ("cut", "a", 105) in h.kinds()
    assert h.feed.write("a", level(1, 10)) is False  # producer is told to stop


def test_cut_then_next_segment_after_exact_gap() -> None:
    h = Harness(gap_ms=20)
    h.add("a", level(10000, 1000))
    h.add("b", level(3000, 10))
    h.pull(50)
    h.feed.cut("a")
    out = h.pull(50)
    assert out == [8000, 6000, 4000, 2000, 0] + [0] * 20 + [3000] * 10 + [0] * 15
    assert ("started", "b", 75) in h.kinds()


def test_cut_queued_segment_is_removed_silently() -> None:
    h = Harness(gap_ms=10)
    h.add("a", level(1000, 20))
    h.add("b", level(2000, 20))
    h.pull(5)
    assert h.feed.cut("b") is True
    assert h.feed.cut("b") is False
    assert h.feed.cut("nope") is False
    assert h.pull(60) == [1000] * 15 + [0] * 45
    assert [k for k, mid, _ in h.kinds() if mid == "b"] == []


def test_cut_all_fades_sounding_and_drops_queue() -> None:
    h = Harness()
    h.add("a", level(10000, 100))
    h.add("b", level(2000, 100))
    h.pull(10)
    assert h.feed.cut_all() is True
    assert h.pull(20) == [8000, 6000, 4000, 2000, 0] + [0] * 15
    assert h.feed.queued == ()
    assert h.feed.cut_all() is False


def test_cut_during_underrun_is_immediate() -> None:
    h = Harness()
    h.add("a", level(1000, 3), end=False)
    h.pull(10)
    assert h.feed.cut("a")
    assert h.pull(5) == [0] * 5
    assert h.kinds()[-1] == ("cut", "a", 10)


def test_pause_fades_holds_position_and_resume_continues() -> None:
    h = Harness()
    h.add("a", counting(1, 200))  # frame k holds 10 * (k + 1)
    assert h.pull(100)[-1] == 1000
    h.feed.pause()
    out = h.pull(40)
    # Fade of copies of frames 100..104 (values 1010..1050) down to zero, then silence.
    assert out[:RAMP] == [808, 612, 412, 208, 0]
    assert out[RAMP:] == [0] * 35
    assert h.feed.buffered_frames("a") == 100  # position held
    assert h.feed.sounding == "a"
    h.feed.resume()
    out = h.pull(10)
    assert out[:RAMP] == [202, 408, 618, 832, 1050]  # same frames, fading in
    assert out[RAMP:] == [1060, 1070, 1080, 1090, 1100]


def test_pause_when_idle_holds_queued_segments() -> None:
    h = Harness()
    h.feed.pause()
    h.add("a", level(1000, 5))
    assert h.pull(20) == [0] * 20
    h.feed.resume()
    assert h.pull(6) == [1000] * 5 + [0]


def test_cut_while_paused_emits_cut_and_drops_audio() -> None:
    h = Harness()
    h.add("a", level(1000, 100))
    h.add("b", level(2000, 3))
    h.pull(10)
    h.feed.pause()
    h.pull(20)
    h.feed.cut("a")
    h.feed.resume()
    assert h.pull(5) == [2000] * 3 + [0] * 2
    assert ("cut", "a", 30) in h.kinds()


def test_events_and_their_frames() -> None:
    h = Harness(gap_ms=30, low_water_ms=20)
    h.add("a", level(1000, 100))
    h.add("b", level(2000, 10))
    h.pull(300, step=13)
    assert h.kinds() == [
        ("started", "a", 0),
        ("low", "a", 81),  # 19 frames left: below the 20 ms low water
        ("finished", "a", 100),
        ("started", "b", 130),
        ("low", "b", 130),  # shorter than low water: low at once
        ("finished", "b", 140),
    ]


def test_low_waits_for_end_of_segment() -> None:
    h = Harness(low_water_ms=50)
    h.add("a", level(1000, 100), end=False)
    h.pull(80)
    assert [k for k, *_ in h.kinds()] == ["started"]
    h.feed.end("a")
    h.pull(1)
    assert h.kinds()[-1] == ("low", "a", 80)


def test_underrun_fades_out_and_in_and_is_reported_once_at_the_end() -> None:
    h = Harness()
    h.add("a", level(1000, 10), end=False)
    # runs dry inside this pull: its last 5 frames fade out, never quite to zero
    assert h.pull(20, step=20) == [1000] * 5 + [833, 667, 500, 333, 167] + [0] * 10
    h.pull(10)
    assert [k for k, *_ in h.kinds()] == ["started"]  # not reported mid-message
    assert h.feed.write("a", level(1000, 10))
    assert h.pull(10, step=10) == [200, 400, 600, 800, 1000] + [1000] * 5  # fades back in
    h.pull(5)  # a second, 5-frame dry spell
    assert h.feed.write("a", level(1000, 5))
    h.feed.end("a")
    h.pull(10)
    underruns = [e for e in h.events if e.kind == "underrun"]
    assert [(e.message_id, e.frame, e.frames) for e in underruns] == [("a", 10, 25)]
    assert h.kinds()[-2:] == [("underrun", "a", 10), ("finished", "a", 50)]


def test_running_dry_at_the_end_of_a_message_is_no_underrun() -> None:
    h = Harness()
    h.add("a", level(1000, 10), end=False)
    h.pull(30)  # the last chunk played, the engine's "done" not there yet
    h.feed.end("a")
    h.pull(5)
    assert [k for k, *_ in h.kinds()] == ["started", "low", "finished"]


def test_waiting_for_first_audio_is_not_an_underrun() -> None:
    h = Harness()
    h.feed.begin("a")
    h.pull(50)
    assert h.kinds() == []
    h.feed.write("a", level(1000, 2))
    h.pull(1)
    assert h.kinds() == [("started", "a", 50)]


def test_empty_segment_finishes_without_sound() -> None:
    h = Harness(gap_ms=5)
    h.add("a", level(1000, 2))
    h.feed.begin("e")
    h.feed.end("e")
    h.add("b", level(2000, 2))
    # The gap runs from the last *audible* frame: the empty segment adds none.
    assert h.pull(20) == [1000] * 2 + [0] * 5 + [2000] * 2 + [0] * 11
    assert ("finished", "e", 7) in h.kinds()


def test_producer_misuse_is_refused() -> None:
    h = Harness()
    h.add("a", level(1, 1))
    with pytest.raises(FeedError):
        h.feed.begin("a")
    with pytest.raises(FeedError):
        h.feed.write("a", level(1, 1))  # after end
    assert h.feed.end("unknown") is False
    assert h.feed.write("unknown", level(1, 1)) is False


def test_segment_buffer_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed_module, "MAX_SEGMENT_SECONDS", 1)
    h = Harness()
    h.feed.begin("a")
    assert h.feed.write("a", level(1, 999))
    assert h.feed.write("a", level(1, 2)) is False  # dropped whole
    assert h.feed.buffered_frames("a") == 999
    assert h.feed.write("a", level(1, 1))


def test_queue_of_segments_is_bounded() -> None:
    h = Harness()
    for i in range(feed_module.MAX_SEGMENTS):
        h.feed.begin(str(i))
    with pytest.raises(FeedError):
        h.feed.begin("one too many")


def test_failing_event_handler_does_not_break_pull() -> None:
    def boom(event: FeedEvent) -> None:
        raise RuntimeError("handler bug")

    feed = Feed(FMT, gap_ms=0, on_event=boom)
    feed.begin("a")
    feed.write("a", level(5, 3))
    feed.end("a")
    assert vals(feed.pull(4)) == [5, 5, 5, 0]


def test_concurrent_writer_and_puller_lose_nothing() -> None:
    h = Harness()
    h.feed.begin("a")
    total = 20_000

    def produce() -> None:
        for start in range(0, total, 100):
            h.feed.write("a", counting(start % 3000, 100))
        h.feed.end("a")

    writer = threading.Thread(target=produce)
    writer.start()
    out: list[int] = []
    while not any(e.kind == "finished" for e in h.events):
        out += vals(h.feed.pull(64))
    writer.join()
    heard = [v for v in out if v]
    sent = b"".join(counting(s % 3000, 100) for s in range(0, total, 100))
    expected = [v for v in vals(sent) if v]
    # every frame exactly once, in order; only the fades around dry spells scale some
    assert len(heard) == len(expected)
    ratio = np.array(heard) / np.array(expected)
    assert np.all((ratio > 0) & (ratio <= 1.001))


# ---- property: any sequence of operations ---------------------------------------

Op = tuple[str, int, int]  # (operation, which of the newest segments, frames)
# Repeats weight the draw toward building and playing segments, so most runs
# have several segments meeting (where gaps and overlaps happen).
NAMES = ["begin"] * 3 + ["write"] * 4 + ["end"] * 2 + ["pull"] * 4
NAMES += ["cut", "cut_all", "pause", "resume"]
OPS = st.tuples(st.sampled_from(NAMES), st.integers(0, 3), st.integers(0, 70))


def run_ops(h: Harness, ops: list[Op]) -> tuple[list[int], dict[str, int], bool]:
    """Apply ``ops``, then drain: returns every pulled sample, frames written per id,
    and whether pause was ever used."""
    ids: list[str] = []
    ended: set[str] = set()
    written: dict[str, int] = {}
    out: list[int] = []
    paused_ever = False

    def pull(n: int) -> None:
        data = h.feed.pull(n)
        assert len(data) == 2 * n, "pull returned the wrong length"
        out.extend(vals(data))

    for name, a, b in ops:
        mid = ids[-1 - a % len(ids)] if ids else ""
        if name == "begin":
            try:
                h.feed.begin(str(len(ids)))
            except FeedError:
                continue
            ids.append(str(len(ids)))
            written[ids[-1]] = 0
        elif name == "write" and ids and mid not in ended:
            if h.feed.write(mid, level(100 * (int(mid) + 1), b)):
                written[mid] += b
        elif name == "end" and ids:
            h.feed.end(mid)
            ended.add(mid)
        elif name == "cut" and ids:
            h.feed.cut(mid)
        elif name == "cut_all":
            h.feed.cut_all()
        elif name in ("pause", "resume"):
            paused_ever = True
            getattr(h.feed, name)()
        elif name == "pull":
            pull(b)
    h.feed.resume()
    for mid in ids:
        h.feed.end(mid)
    for _ in range(40):
        pull(97)
    return out, written, paused_ever


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=st.lists(OPS, min_size=10, max_size=60),
    gap_ms=st.sampled_from([0, 3, 25]),
    preroll_ms=st.sampled_from([0, 120]),
)
def test_any_operations_keep_length_order_and_one_voice(
    ops: list[Op], gap_ms: int, preroll_ms: int
) -> None:
    h = Harness(gap_ms=gap_ms, low_water_ms=20, max_preroll_ms=preroll_ms)
    out, written, paused_ever = run_ops(h, ops)
    assert h.feed.queued == () and h.feed.sounding is None, "feed did not drain"

    # Intervals during which each segment sounded, from the events.
    opened: dict[str, int] = {}
    intervals: list[tuple[str, int, int]] = []
    for e in h.events:
        if e.kind == "started":
            assert not opened, "a segment started while another was sounding"
            opened[e.message_id] = e.frame
        elif e.kind in ("finished", "cut"):
            intervals.append((e.message_id, opened.pop(e.message_id), e.frame))
    assert not opened, "a started segment never finished nor completed its cut"

    started_order = [e.message_id for e in h.events if e.kind == "started"]
    assert started_order == sorted(started_order, key=int), "segments played out of order"
    samples = np.array(out, dtype=np.int64)
    heard = [(s, e) for _, s, e in intervals if np.any(samples[s:e])]
    for (start_a, end_a), (start_b, _) in itertools.pairwise(heard):
        last_sound = start_a + int(np.nonzero(samples[start_a:end_a])[0][-1]) + 1
        assert start_b - last_sound >= gap_ms, "gap shorter than configured"

    covered = np.zeros(len(samples), dtype=bool)
    for mid, start, end in intervals:
        full = 100 * (int(mid) + 1)
        span = samples[start:end]
        assert np.all((span >= 0) & (span <= full)), "foreign audio in a segment"
        covered[start:end] = True
        finished = any(e.kind == "finished" and e.message_id == mid for e in h.events)
        if finished and not paused_ever:
            # fades around a dry spell scale frames but never silence one
            assert int((span != 0).sum()) == written[mid], "audio lost or repeated"
    assert not np.any(samples[~covered]), "sound outside every segment"


# ---- looking ahead: what an output writes before the pulls ----------------------

AheadOp = tuple[str, int]
AHEAD_OPS = st.one_of(
    st.tuples(st.just("write"), st.integers(1, 40)),
    st.tuples(st.just("pull"), st.integers(1, 30)),
    st.tuples(st.just("peek"), st.integers(0, 60)),
    st.tuples(st.just("next"), st.just(0)),
)


@settings(max_examples=300, deadline=None)
@given(ops=st.lists(AHEAD_OPS, min_size=5, max_size=80))
def test_what_peek_shows_is_what_the_pulls_then_return(ops: list[AheadOp]) -> None:
    """Streamed segments written, pulled, dry now and then, peeked at: every frame a
    peek showed comes out of the pulls at that very place (nothing decided
    meanwhile), so an output may write it ahead of the speaker."""
    h = Harness(gap_ms=3, max_preroll_ms=0)
    promised: dict[int, int] = {}  # absolute frame -> value a peek showed
    pulled: list[int] = []
    serial, value = 0, 1
    h.feed.begin("0")
    for op, n in ops:
        mid = str(serial)
        if op == "write":
            h.feed.write(mid, counting(value, n))
            value += n
        elif op == "pull":
            pulled += vals(h.feed.pull(n))
        elif op == "peek":
            skip = min(n, 20)
            at = h.feed.frames_pulled + skip
            for i, v in enumerate(vals(h.feed.peek(skip, n))):
                promised[at + i] = v
        else:
            h.feed.end(mid)
            serial += 1
            h.feed.begin(str(serial))
    h.feed.end(str(serial))
    pulled += vals(h.feed.pull(2000))
    assert promised == {at: pulled[at] for at in promised}


def test_peek_shows_nothing_while_the_feed_decides() -> None:
    h = Harness()
    h.add("a", level(1000, 100))
    assert h.feed.peek(0, 10) == b""  # not started yet: the gap and the start are the pull's
    h.pull(10)
    assert vals(h.feed.peek(0, 10)) == [1000] * 10
    assert h.feed.peek(85, 10) == b""  # the last ramp: a dry spell would fade it
    h.feed.pause()
    assert h.feed.peek(0, 10) == b""
    h.feed.resume()
    assert h.feed.peek(0, 10) == b""  # the pause's faded copies, then fading back in
    h.pull(2 * RAMP)
    assert vals(h.feed.peek(0, 3)) == [1000] * 3
    cuts: list[bool] = []
    h.feed.on_cut = lambda: cuts.append(True)
    h.feed.cut("a")
    assert h.feed.peek(0, 10) == b"" and cuts == [True]


# ---- the jitter buffer: streamed segments ----------------------------------------


def test_streamed_segment_is_held_back_then_played_whole() -> None:
    h = Harness(max_preroll_ms=120)
    assert h.feed.preroll_frames == 40  # starts small
    h.add("a", level(1000, 50), end=False)
    out = h.pull(100)
    assert out[:40] == [0] * 40 and out[40:85] == [1000] * 45
    assert h.kinds()[0] == ("started", "a", 40)


def test_whole_or_ample_audio_is_never_held_back() -> None:
    h = Harness(max_preroll_ms=120)
    h.add("whole", level(1000, 5))  # ended (Piper, espeak, files): no wait at all
    assert h.pull(5) == [1000] * 5
    h2 = Harness(max_preroll_ms=120)
    h2.add("ample", level(1000, 40 + feed_module.AMPLE_MS), end=False)  # far ahead
    assert h2.pull(3) == [1000] * 3


def realtime(h: Harness, mid: str, chunks: int, late: list[int], *, chunk: int = 10) -> list[int]:
    """A producer at exactly real-time pace: chunk k lands ``k * chunk + late[k]``
    frames after the first (in order: a late chunk holds back the next ones); the
    device pulls 1 frame at a time. Returns the samples."""
    h.feed.begin(mid)
    due = list(itertools.accumulate((k * chunk + late[k] for k in range(chunks)), max))
    out: list[int] = []
    t = 0
    for when in due:
        while t < when:
            out += vals(h.feed.pull(1))
            t += 1
        h.feed.write(mid, level(1000, chunk))
    h.feed.end(mid)
    while not any(e.kind == "finished" and e.message_id == mid for e in h.events):
        out += vals(h.feed.pull(1))
    return out


def inner_silence(out: list[int]) -> int:
    """Frames of silence between the first and the last sound."""
    loud = np.flatnonzero(np.array(out) != 0)
    return int(loud[-1] - loud[0] + 1 - loud.size) if loud.size else 0


@settings(max_examples=60, deadline=None)
@given(late=st.lists(st.integers(0, 30), min_size=20, max_size=20))
def test_lateness_within_the_preroll_never_reaches_the_speaker(late: list[int]) -> None:
    h = Harness(max_preroll_ms=120)  # holds 40 frames: rides out 30 of lateness, with room
    assert inner_silence(realtime(h, "a", 20, late)) == 0
    assert not [e for e in h.events if e.kind == "underrun"]


@settings(max_examples=60, deadline=None)
@given(
    first=st.lists(st.integers(0, 30), min_size=6, max_size=6),
    rest=st.lists(st.integers(0, 30), min_size=6 * 19, max_size=6 * 19),
)
def test_a_late_first_chunk_does_not_teach_a_smaller_hold_back(
    first: list[int], rest: list[int]
) -> None:
    """Every chunk up to 30 late at random, the first one too. A message whose
    first chunk happened to be late sees its later chunks come "early": the
    lateness is learned from the earliest chunk's pace, so that luck does not
    bring the hold-back down for a message whose first chunk is on time."""
    h = Harness(max_preroll_ms=120)
    for i in range(6):
        late = [first[i], *rest[i * 19 : (i + 1) * 19]]
        late[5], late[15] = 0, 30  # each message: a chunk on time, a later one 30 late
        realtime(h, f"m{i}", 20, late)
    h.events.clear()
    realtime(h, "on-time", 20, [0] * 10 + [30] + [0] * 9)
    assert [e for e in h.events if e.kind == "underrun"] == []


def test_a_producer_faster_than_real_time_is_not_taken_for_a_late_one() -> None:
    """Chunks ahead of real-time pace (a voice made faster than it speaks) teach
    no lateness: the hold-back comes down as for a steady one."""
    h = Harness(max_preroll_ms=120)
    for i in range(12):
        realtime(h, f"fast{i}", 20, [-5 * k for k in range(20)])
    assert h.feed.preroll_frames <= 15 + 1


def test_underrun_grows_the_preroll_to_ride_it_out_next_time() -> None:
    h = Harness(max_preroll_ms=120)
    late = [0] * 20
    late[5] = 60  # one chunk 60 frames late: beyond the 40 held back
    realtime(h, "a", 20, late)
    (underrun,) = [e for e in h.events if e.kind == "underrun"]
    assert underrun.message_id == "a" and underrun.frames == 20
    assert h.feed.preroll_frames >= 60 + 10
    h.events.clear()
    assert inner_silence(realtime(h, "b", 20, late)) == 0  # the same spell, now absorbed
    assert not [e for e in h.events if e.kind == "underrun"]


def test_steady_delivery_shrinks_the_preroll_slowly_and_max_bounds_it() -> None:
    h = Harness(max_preroll_ms=80)
    late = [0] * 20
    late[3] = 200
    realtime(h, "big", 20, late)
    assert h.feed.preroll_frames == 80  # bounded by max_preroll_ms
    grown = h.feed.preroll_frames
    sizes = []
    for i in range(60):
        realtime(h, f"s{i}", 10, [0] * 10)
        sizes.append(h.feed.preroll_frames)
    assert sizes[0] >= grown - 3, "shrinks slowly, not at once"
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[-1] < 40, "comes back down while delivery is steady"
    assert sizes[-1] >= 15, "never below the floor"


def test_device_lost_reports_the_sounding_segment_and_cut_completes_at_once() -> None:
    h = Harness()
    h.add("a", level(1000, 100))
    h.add("b", level(2000, 10))
    h.pull(10)
    h.feed.device_lost()
    h.feed.device_lost()  # once
    assert [k for k in h.kinds() if k[0] == "lost"] == [("lost", "a", 10)]
    assert h.feed.cut("a")
    assert h.kinds()[-1] == ("cut", "a", 10)  # no fade to wait for: nothing is heard
    h.feed.device_restored()
    assert h.pull(12) == [2000] * 10 + [0] * 2


def test_after_a_loss_the_sounding_segment_resumes_with_a_fade_in() -> None:
    h = Harness()
    h.add("a", level(1000, 100))
    h.pull(10)
    h.feed.device_lost()
    h.feed.device_restored()
    assert h.pull(7) == [200, 400, 600, 800, 1000, 1000, 1000]


# ---- the hold-back's memory, directly ---------------------------------------------


@settings(max_examples=50)
@given(st.lists(st.floats(min_value=25, max_value=30), min_size=30, max_size=60))
def test_random_lateness_keeps_the_hold_back_above_its_recent_worst(worsts: list[float]) -> None:
    """A voice late by up to 30 at random: the hold-back never drifts below what came lately."""
    est = JitterEstimate(1000, max_ms=120)
    for i, worst in enumerate(worsts):
        est.segment_done(worst)
        recent = max(worsts[max(0, i - RECENT_MESSAGES + 1) : i + 1])
        assert est.target_frames >= recent + 10 - 0.5  # (whole frames)


def test_steady_delivery_brings_the_first_guess_down_within_a_few_messages() -> None:
    est = JitterEstimate(1000, max_ms=120)
    first = est.target_frames
    sizes = []
    for _ in range(12):
        est.segment_done(2.0)
        sizes.append(est.target_frames)
    assert first == 40
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] > 15 + 1, "not at once"
    assert sizes[2] <= 15 + 1, "at the floor within three messages"
