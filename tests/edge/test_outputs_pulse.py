"""Outputs against a real, real-time sound server: what reaches the sink, and when.

PyAudio plays into a private PulseAudio null sink and ``parec`` records its
monitor with arrival timestamps, so these tests measure what a listener would
have heard. Nothing is mocked.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bench.machine import MachineHold
from streamer_tts.audio.feed import Feed, FeedEvent
from streamer_tts.audio.outputs import (
    NullOutput,
    OutputError,
    PulseOutput,
    PyAudioOutput,
    WavFileOutput,
    list_output_devices,
    native_rate,
    open_output,
)
from streamer_tts.audio.pcm import PcmFormat
from streamer_tts.audio.pulse_output import LEAD_MS
from tests.edge.pulse import PulseServer, Recorder, client_env, private_pulse
from tests.edge.sound_analysis import audible_regions, inner_silences, last_audible_frame, tone

pytestmark = pytest.mark.sound

RATE = 22050  # recording, WAV and null outputs
FMT = PcmFormat(RATE)
SKIP_BUDGET_MS = 50.0
ROOT = Path(__file__).resolve().parents[2]


class Live:
    """A feed played by a real device output, with its events queued: a
    PortAudio callback stream ("pyaudio") or a sound-server stream written
    ahead ("pulse").

    The feed runs at the device's native rate, as the daemon should (see
    :func:`native_rate`): that is the configuration whose latency we promise.
    """

    def __init__(self, kind: str = "pyaudio") -> None:
        self.rate = native_rate("default", fallback_hz=RATE)
        self.events: queue.Queue[FeedEvent] = queue.Queue()
        self.feed = Feed(PcmFormat(self.rate), gap_ms=0, on_event=self.events.put)
        self.output: PyAudioOutput | PulseOutput = (
            PulseOutput(self.feed) if kind == "pulse" else PyAudioOutput(self.feed)
        )

    def play(self, mid: str, pcm: bytes) -> None:
        self.feed.begin(mid)
        self.feed.write(mid, pcm)
        self.feed.end(mid)

    def wait(self, kind: str, mid: str, timeout_s: float = 5.0) -> FeedEvent:
        deadline = time.monotonic() + timeout_s
        while True:
            event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            if event.kind == kind and event.message_id == mid:
                return event


@pytest.fixture(scope="module", params=["pyaudio", "pulse"])
def live(pulse_server: PulseServer, request: pytest.FixtureRequest) -> Iterator[Live]:
    player = Live(request.param)
    player.output.start()
    yield player
    player.output.close()


def test_tone_written_to_feed_is_heard(live: Live, pulse_recorder: Recorder) -> None:
    begin = time.monotonic()
    live.play("tone", tone(440, live.rate * 3 // 10, live.rate))
    live.wait("finished", "tone")
    end = time.monotonic() + 0.1
    pulse_recorder.wait_covered(end)
    samples = pulse_recorder.samples()
    lo, hi = pulse_recorder.time_frame(begin), pulse_recorder.time_frame(end)
    heard = samples[lo:hi]
    regions = audible_regions(heard, RATE)
    assert len(regions) == 1, regions
    start, stop = regions[0]
    assert abs((stop - start) / RATE * 1000 - 300) <= 10
    spectrum = np.abs(np.fft.rfft(heard[start:stop].astype(float)))
    assert abs(np.fft.rfftfreq(stop - start, 1 / RATE)[spectrum.argmax()] - 440) < 5


def _measure_cuts(live: Live, rec: Recorder, attempt: int) -> list[float] | None:
    """Ten cuts, each from the command to the last audible sample (ms); None if
    a cut tone was not sounding at the sink (the device dropped out there)."""
    rng = random.Random(7 + attempt)
    cuts: list[float] = []
    for i in range(10):
        mid = f"cut{i}-{attempt}"
        live.play(mid, tone(330, live.rate * 2, live.rate))
        live.wait("started", mid)
        time.sleep(rng.uniform(0.15, 0.25))  # land anywhere in a device buffer
        cuts.append(time.monotonic())
        assert live.feed.cut(mid)
        live.wait("cut", mid)
        time.sleep(0.15)
    rec.wait_covered(time.monotonic())
    samples = rec.samples()
    latencies_ms = []
    for t_cut in cuts:
        last = last_audible_frame(samples, RATE, rec.time_frame(t_cut))
        if last is None:
            return None
        latencies_ms.append((rec.heard_time(last) - t_cut) * 1000)
    return latencies_ms


def test_cut_is_silent_at_the_sink_within_50ms(live: Live, pulse_recorder: Recorder) -> None:
    # A loaded machine can starve the device (PortAudio reports an underflow):
    # that spoils the measurement, not the cut; then measure again, at most 3 times.
    for attempt in range(3):
        underflows = live.output.underflows
        latencies_ms = _measure_cuts(live, pulse_recorder, attempt)
        ok = latencies_ms is not None and np.percentile(latencies_ms, 95) < SKIP_BUDGET_MS
        if ok or live.output.underflows == underflows:
            break
        print(f"\nattempt {attempt + 1}: the device underflowed, measuring again")
    assert latencies_ms is not None, "the tone was not playing when it was cut"
    p50, p95 = np.percentile(latencies_ms, [50, 95])
    print(f"\nskip heard at sink: {np.round(latencies_ms, 1).tolist()} ms")
    print(f"p50 {p50:.1f}, p95 {p95:.1f} ms at {live.rate} Hz, 256-frame buffers,")
    print(f"{live.output.name} output latency {live.output.latency_s * 1000:.1f} ms")
    assert min(latencies_ms) > 0, "sound stopped before the cut: clock alignment is wrong"
    assert p95 < SKIP_BUDGET_MS


def test_pause_lands_at_once_and_resume_loses_nothing(live: Live, pulse_recorder: Recorder) -> None:
    """Pausing a message already written ahead (pulse) takes it back from the server."""
    splices = getattr(live.output, "splices", 0)
    begin = time.monotonic()
    live.play("paused", tone(440, live.rate, live.rate))  # 1 s
    live.wait("started", "paused")
    time.sleep(0.3)
    paused_at = time.monotonic()
    live.feed.pause()
    time.sleep(0.4)
    live.feed.resume()
    live.wait("finished", "paused")
    end = time.monotonic() + 0.1
    pulse_recorder.wait_covered(end)
    samples = pulse_recorder.samples()
    start = pulse_recorder.time_frame(begin)
    heard = samples[start : pulse_recorder.time_frame(end)]
    regions = audible_regions(heard, RATE)
    assert len(regions) == 2, regions
    assert abs(sum(b - a for a, b in regions) / RATE - 1.0) < 0.03  # nothing lost or repeated
    held_ms = (pulse_recorder.heard_time(start + regions[0][1]) - paused_at) * 1000
    assert 0 < held_ms < SKIP_BUDGET_MS, f"the pause was heard {held_ms:.0f} ms after it came"
    if isinstance(live.output, PulseOutput):
        assert live.output.splices > splices, "the audio written ahead was not taken back"


def test_missing_device_is_one_clear_error(pulse_server: PulseServer) -> None:
    names = [d.name for d in list_output_devices()]
    assert "default" in names
    assert sum(d.is_default for d in list_output_devices()) == 1
    out = PyAudioOutput(Feed(FMT, gap_ms=0), device="No Such Speaker")
    with pytest.raises(OutputError) as err:
        out.start()
    message = str(err.value)
    assert "\n" not in message
    assert "'No Such Speaker'" in message and "'default'" in message
    out.close()
    out.close()  # idempotent


def test_native_rate_is_the_devices_own(pulse_server: PulseServer) -> None:
    assert native_rate("default", fallback_hz=16000) == 44100  # the null sink's rate
    assert native_rate("none", fallback_hz=16000) == 16000
    assert native_rate("file:x.wav", fallback_hz=16000) == 16000
    with pytest.raises(OutputError):
        native_rate("No Such Speaker", fallback_hz=16000)


def test_device_found_by_case_insensitive_substring(pulse_server: PulseServer) -> None:
    out = PyAudioOutput(Feed(FMT, gap_ms=0), device="PULS")
    try:
        out.start()
        assert out.name == "pyaudio:pulse"
        assert 0 < out.latency_s < 0.2
    finally:
        out.close()


def test_portaudio_probe_noise_is_hidden(pulse_server: PulseServer) -> None:
    code = "from streamer_tts.audio.outputs import list_output_devices as l; print(len(l()))"
    env = {**os.environ, **pulse_server.client_environ()}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 1
    assert "ALSA lib" not in done.stderr and "jack" not in done.stderr.lower()


def test_wav_file_output_is_real_time_with_exact_gap(tmp_path: Path) -> None:
    gap_ms = 120
    events: queue.Queue[FeedEvent] = queue.Queue()
    feed = Feed(FMT, gap_ms=gap_ms, on_event=events.put)
    path = tmp_path / "heard.wav"
    out = WavFileOutput(feed, path)
    a = np.full(RATE // 5, 8000, dtype="<i2").tobytes()  # 200 ms, non-zero every frame
    b = np.full(RATE // 10, -8000, dtype="<i2").tobytes()  # 100 ms
    started = time.monotonic()
    out.start()
    for mid, pcm in (("a", a), ("b", b)):
        feed.begin(mid)
        feed.write(mid, pcm)
        feed.end(mid)
    while (event := events.get(timeout=5)).kind != "finished" or event.message_id != "b":
        pass
    time.sleep(0.6)
    with wave.open(str(path)) as live_view:  # readable before close: survives a kill
        assert live_view.getnframes() > RATE // 2
    out.close()
    elapsed_s = time.monotonic() - started
    out.close()  # idempotent

    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, RATE)
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert abs(len(frames) / RATE - elapsed_s) < 0.05, "the file is not paced in real time"
    loud = np.nonzero(frames)[0]
    first_b = int(np.nonzero(frames < 0)[0][0])
    last_a = int(np.nonzero(frames > 0)[0][-1])
    assert (frames > 0).sum() == RATE // 5 and (frames < 0).sum() == RATE // 10
    assert first_b - last_a - 1 == FMT.frames_for_ms(gap_ms)
    assert loud[0] < RATE // 20  # the first segment starts at once


def test_null_output_consumes_in_real_time() -> None:
    feed = Feed(FMT, gap_ms=0)
    out = NullOutput(feed)
    out.start()
    time.sleep(0.5)
    out.close()
    assert abs(feed.frames_pulled / RATE - 0.5) < 0.05


def test_open_output_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    feed = Feed(FMT, gap_ms=0)
    assert isinstance(open_output("none", feed), NullOutput)
    for name in ("PULSE_SERVER", "PULSE_RUNTIME_PATH", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(open_output("default", feed), PyAudioOutput)  # no sound server here
    monkeypatch.setenv("PULSE_SERVER", "unix:/nowhere")
    assert isinstance(open_output("default", feed), PulseOutput)
    sink = open_output("pulse:tts_sink", feed)
    assert isinstance(sink, PulseOutput) and sink.name == "pulse:tts_sink"
    assert isinstance(open_output("Headset", feed), PyAudioOutput)
    wav = open_output(f"file:{tmp_path / 'x.wav'}", feed)
    assert isinstance(wav, WavFileOutput) and wav.name.endswith("x.wav")
    wav.close()
    for bad in ("", "file:", f"file:{tmp_path / 'missing' / 'x.wav'}"):
        with pytest.raises(OutputError):
            open_output(bad, feed)


def _silences_while_held(lead_ms: float, rec: Recorder) -> tuple[list[float], bool]:
    """Inner silences (ms) of a 2.4 s tone played by a sound-server output with
    ``lead_ms`` written ahead, every CPU held 40 ms every 0.4 s meanwhile."""
    rate = native_rate("default", fallback_hz=RATE)
    events: queue.Queue[FeedEvent] = queue.Queue()
    feed = Feed(PcmFormat(rate), gap_ms=0, on_event=events.put)
    out = PulseOutput(feed, lead_ms=lead_ms)
    out.start()
    try:
        time.sleep(0.3)
        with MachineHold(hold_ms=40, period_s=0.4) as hold:
            begin = time.monotonic()
            feed.begin("held")
            feed.write("held", tone(500, rate * 12 // 5, rate))
            feed.end("held")
            while events.get(timeout=10).kind != "finished":
                pass
        end = time.monotonic() + 0.1
    finally:
        out.close()
    rec.wait_covered(end)
    heard = rec.samples()[rec.time_frame(begin) : rec.time_frame(end)]
    _, silences = inner_silences(heard, RATE, quiet=0.3 * 32767 / 20, between_ms=300)
    return [round((b - a) * 1000 / RATE, 1) for a, b in silences], hold.realtime


def test_written_ahead_a_held_machine_is_not_heard(
    pulse_server: PulseServer, pulse_recorder: Recorder
) -> None:
    """A virtual machine's host holds every CPU now and then, for longer than a
    device buffer: the server plays on from what was written ahead."""
    bare, realtime = _silences_while_held(0.0, pulse_recorder)
    assert realtime, "real-time scheduling refused: the holds cannot preempt anything"
    ahead, _ = _silences_while_held(LEAD_MS, pulse_recorder)
    print(f"\nsilences with every CPU held 40 ms: {bare} ms bare, {ahead} ms written ahead")
    assert bare, "without a lead the holds left no silence: they prove nothing here"
    assert not ahead


def test_a_hung_sound_server_is_lost_then_restored() -> None:
    """A sound server that stops taking audio (here: SIGSTOP) is a lost device,
    reported within ~1 s; once it runs again the output reconnects by itself."""
    with private_pulse() as server, client_env(server):
        out = PulseOutput(Feed(PcmFormat(44100), gap_ms=0))
        changes: list[bool] = []
        out.on_health(changes.append)
        out.start()
        try:
            time.sleep(0.5)
            assert out.healthy
            os.kill(server.process.pid, signal.SIGSTOP)
            stopped_at = time.monotonic()
            try:
                while out.healthy and time.monotonic() - stopped_at < 10:
                    time.sleep(0.05)
                lost_after_s = time.monotonic() - stopped_at
            finally:
                os.kill(server.process.pid, signal.SIGCONT)
            deadline = time.monotonic() + 30
            while not out.healthy and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            out.close()
    assert changes[:2] == [True, False], changes
    assert lost_after_s < 3.0
    assert out.reopens == 1


def test_closing_right_after_the_last_words_still_plays_them(pulse_recorder: Recorder) -> None:
    """A stop right after a message's `finished` (pulled, not yet heard) keeps its end
    on the sound-server output (PortAudio's own stop drains, within a period)."""
    live = Live("pulse")
    live.output.start()
    try:
        time.sleep(0.3)
        begin = time.monotonic()
        live.play("last", tone(440, live.rate * 3 // 10, live.rate))
        live.wait("finished", "last")
    finally:
        live.output.close()
    end = time.monotonic() + 0.1
    pulse_recorder.wait_covered(end)
    heard = pulse_recorder.samples()[
        pulse_recorder.time_frame(begin) : pulse_recorder.time_frame(end)
    ]
    regions = audible_regions(heard, RATE)
    assert len(regions) == 1, regions
    heard_ms = (regions[0][1] - regions[0][0]) / RATE * 1000
    print(f"\nheard {heard_ms:.1f} ms of 300")
    assert 295 <= heard_ms <= 310, "the last words were cut by the close (or repeated)"
