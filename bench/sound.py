"""Sound benchmark: what a listener hears, measured at a real-time sound server.

Plays synthetic tones (no TTS engine) through the real output path (Feed ->
PyAudio callback stream) into a private PulseAudio null sink and records the
sink with parec, then reports:

- ``skip``: cut call -> last audible sample of the cut message at the sink;
- ``gap``: silence between consecutive messages with ``gap_ms=0`` (50 % level
  crossings of each message's own tone, so a seamless hand-over reads 0.0);
- ``overlap``: 5 ms windows in which two messages' tones are both present.

Each message uses one of three tones far apart in frequency, so every
message's envelope is measured on its own even when the next one follows
without a gap. Run: ``.venv/bin/python bench/sound.py`` (needs pulseaudio).
Extend by adding a phase function and its line in :func:`main`.
"""

from __future__ import annotations

import argparse
import itertools
import queue
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamer_tts.audio.feed import Feed, FeedEvent
from streamer_tts.audio.outputs import PyAudioOutput, native_rate
from streamer_tts.audio.pcm import PcmFormat
from tests.edge.pulse import Recorder, client_env, private_pulse, pulse_available
from tests.edge.sound_analysis import (
    AUDIBLE_DBFS,
    FULL_SCALE,
    band_envelope,
    edges,
    overlap_windows,
    tone,
)

RATE = 22050
"""Recording rate (parec); the played feed runs at the device's native rate."""
FREQS_HZ = (500.0, 1700.0, 2900.0)
AMPLITUDE = 0.3
AUDIBLE_LEVEL = FULL_SCALE * 10 ** (AUDIBLE_DBFS / 20) * np.sqrt(2)
"""Envelope (peak amplitude) of a sine at the audibility threshold."""
QUIET_AFTER_CUT_S = 0.05
"""A cut message is over once its tone stays inaudible this long."""


@dataclass
class Rig:
    """Feed + real output + recorder; ``spans`` are the monotonic intervals measured."""

    feed: Feed
    output: PyAudioOutput
    recorder: Recorder
    events: queue.Queue[FeedEvent]
    spans: list[tuple[float, float]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def play(self, freq_hz: float, seconds: float) -> str:
        mid = f"m{next(self._ids)}"
        rate = self.feed.fmt.sample_rate
        self.feed.begin(mid)
        self.feed.write(mid, tone(freq_hz, round(seconds * rate), rate, amplitude=AMPLITUDE))
        self.feed.end(mid)
        return mid

    def wait(self, kind: str, mid: str, timeout_s: float = 5.0) -> FeedEvent:
        deadline = time.monotonic() + timeout_s
        while True:
            event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            if event.kind == kind and event.message_id == mid:
                return event

    def envelopes(self, t0: float, t1: float) -> tuple[int, list[np.ndarray]]:
        """Per-tone envelopes of the recording between two monotonic times."""
        self.recorder.wait_covered(t1)
        lo, hi = self.recorder.time_frame(t0), self.recorder.time_frame(t1)
        samples = self.recorder.samples()[lo:hi]
        return lo, [band_envelope(samples, RATE, f) for f in FREQS_HZ]


@contextmanager
def rig(*, frames_per_buffer: int = 256, rate_hz: int | None = None) -> Iterator[Rig]:
    with private_pulse() as server, client_env(server), Recorder(server) as recorder:
        events: queue.Queue[FeedEvent] = queue.Queue()
        rate = rate_hz or native_rate("default", fallback_hz=RATE)
        feed = Feed(PcmFormat(rate), gap_ms=0, on_event=events.put)
        output = PyAudioOutput(feed, frames_per_buffer=frames_per_buffer)
        output.start()
        try:
            recorder.wait_ready()
            time.sleep(0.3)
            yield Rig(feed, output, recorder, events)
        finally:
            output.close()


def measure_skips(rig: Rig, count: int, *, seed: int = 1) -> list[float]:
    """Chain of skips: each message is cut while the next one waits, gap 0."""
    rng = random.Random(seed)
    t0 = time.monotonic()
    cuts: list[tuple[float, int]] = []  # (monotonic cut time, tone index)
    current = rig.play(FREQS_HZ[0], 2.0)
    for i in range(count):
        following = rig.play(FREQS_HZ[(i + 1) % 3], 2.0)
        rig.wait("started", current)
        time.sleep(rng.uniform(0.12, 0.3))
        cuts.append((time.monotonic(), i % 3))
        rig.feed.cut(current)
        current = following
    rig.wait("started", current)
    rig.feed.cut_all()
    t1 = time.monotonic() + 0.3
    time.sleep(0.3)
    rig.spans.append((t0, t1))

    lo, envs = rig.envelopes(t0, t1)
    quiet = round(QUIET_AFTER_CUT_S * RATE)
    latencies_ms = []
    for t_cut, k in cuts:
        start = rig.recorder.time_frame(t_cut) - lo
        loud = np.nonzero(envs[k][start:] >= AUDIBLE_LEVEL)[0]
        if loud.size == 0:
            raise RuntimeError("a cut message was not audible at its cut: alignment is off")
        # The cut message's tone ends at the first long quiet stretch after the cut.
        breaks = np.nonzero(np.diff(loud) > quiet)[0]
        last = loud[breaks[0]] if breaks.size else loud[-1]
        latencies_ms.append((rig.recorder.heard_time(lo + start + last) - t_cut) * 1000)
    return latencies_ms


def measure_gaps(rig: Rig, count: int, *, seconds: float = 0.15) -> list[float]:
    """``count`` messages queued back to back; silence at each hand-over, in ms."""
    t0 = time.monotonic()
    ids = [rig.play(FREQS_HZ[i % 3], seconds) for i in range(count)]
    rig.wait("finished", ids[-1])
    t1 = time.monotonic() + 0.3
    time.sleep(0.3)
    rig.spans.append((t0, t1))

    _, envs = rig.envelopes(t0, t1)
    levels = [float(np.percentile(env, 99)) for env in envs]
    rises, falls = zip(
        *(edges(env, lvl / 2) for env, lvl in zip(envs, levels, strict=True)), strict=True
    )
    gaps_ms = []
    for k in range(3):
        nxt = (k + 1) % 3
        for fall in falls[k]:
            after = rises[nxt][np.abs(rises[nxt] - fall) < 0.05 * RATE]
            if after.size:
                gaps_ms.append((after[0] - fall) / RATE * 1000)
    if len(gaps_ms) != count - 1:
        raise RuntimeError(f"found {len(gaps_ms)} hand-overs, expected {count - 1}")
    return gaps_ms


def count_overlaps(rig: Rig) -> int:
    """Windows where two tones sound at once, over every span measured so far."""
    total = 0
    for t0, t1 in rig.spans:
        _, envs = rig.envelopes(t0, t1)
        levels = [float(np.percentile(env, 99)) for env in envs]
        total += overlap_windows(envs, levels, RATE)
    return total


def percentiles(values: list[float]) -> str:
    p50, p95 = np.percentile(values, [50, 95])
    # round() + 0.0 turns a -0.04 (within one sample of zero) into 0.0, not "-0.0".
    return f"p50 {round(p50, 1) + 0.0:.1f} ms, p95 {round(p95, 1) + 0.0:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skips", type=int, default=40, help="skips to measure (>= 40)")
    parser.add_argument("--gaps", type=int, default=21, help="messages played back to back")
    parser.add_argument("--frames-per-buffer", type=int, default=256)
    parser.add_argument("--rate", type=int, help="feed rate in Hz (default: the device's)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every sample")
    args = parser.parse_args(argv)
    if not pulse_available():
        print("bench/sound.py needs pulseaudio (apt-get install pulseaudio pulseaudio-utils)")
        return 2
    with rig(frames_per_buffer=args.frames_per_buffer, rate_hz=args.rate) as r:
        skips = measure_skips(r, args.skips)
        gaps = measure_gaps(r, args.gaps)
        overlaps = count_overlaps(r)
        if args.verbose:
            print(f"feed {r.feed.fmt.sample_rate} Hz, {args.frames_per_buffer}-frame buffers")
            print(f"output latency (PortAudio): {r.output.latency_s * 1000:.1f} ms")
            print(f"sink latency: {r.recorder.server.sink_latency_s() * 1000:.1f} ms")
            print("skips ms:", np.round(skips, 1).tolist())
            print("gaps ms:", np.round(gaps, 2).tolist())
    print(f"skip: {percentiles(skips)}")
    print(f"gap: {percentiles(gaps)}")
    print(f"overlap: {overlaps} windows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
