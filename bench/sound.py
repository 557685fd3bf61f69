"""Sound benchmark: what a listener hears, measured at a real-time sound server.

The daemon's whole sound path (conductor -> player -> engine -> feed ->
PyAudio callback stream) plays into a private PulseAudio null sink, recorded
with parec. Prints, each on a line of a fixed form:

- `skip: p50 X ms, p95 Y ms`: skip command in -> silence at the sink;
- `gap: p50 X ms, p95 Y ms`: with `gap_ms: 0`, silence between the end of one
  message and the start of the next (the next one prefetched in time);
- `first-audio: p50 X ms, p95 Y ms`: event in -> first sound at the sink,
  minus the engine's own time to its first chunk (Piper, the default voice);
- `overlap: N windows`: 5 ms windows with two messages audible at once, over
  the whole bench (must be 0).

Run: `.venv/bin/python bench/sound.py` (needs pulseaudio; `make bench` runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamer_tts.speech.piper import PiperEngine
from tests.edge.pulse import Recorder, client_env, private_pulse, pulse_available
from tests.edge.stack import (
    Stack,
    measure_first_audio,
    measure_gaps,
    measure_skips,
)
from tests.fakes.tone_engine import ToneEngine

FIRST_AUDIO_TEXTS = [
    "Hello chat!",
    "Thanks for the bits, that was very generous of you.",
    "Welcome to the stream.",
    "BigWhale cheered one thousand bits: take my bits.",
    "Carol subscribed for twelve months: a whole year already.",
]


GAP_ATTEMPTS = 3
"""A gap run split by the device itself running dry (PortAudio says so) is run again."""


def percentiles(values: list[float]) -> str:
    p50, p95 = (round(float(v), 1) + 0.0 for v in np.percentile(values, [50, 95]))  # no "-0.0"
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"


async def run(rec: Recorder, *, skips: int, gaps: int, firsts: int, verbose: bool) -> None:
    overlap = 0
    async with Stack(ToneEngine(chunk_delay_s=0.02), gap_ms=300) as stack:
        skip_ms, windows = await measure_skips(stack, rec, skips)
        overlap += windows
    async with Stack(ToneEngine(), gap_ms=0) as stack:
        for attempt in range(GAP_ATTEMPTS):
            output: Any = stack.player.output
            underflows = output.underflows
            try:
                gap_ms, windows = await measure_gaps(
                    stack, rec, gaps, seconds=0.3, tag=f"-{attempt}"
                )
                break
            except AssertionError as e:  # a message heard in two parts
                if output.underflows == underflows or attempt + 1 == GAP_ATTEMPTS:
                    raise
                print(f"gap run {attempt + 1}: the device underflowed ({e}); again", flush=True)
        overlap += windows
    piper = PiperEngine()
    async with Stack(piper, gap_ms=300) as stack:
        texts = [FIRST_AUDIO_TEXTS[i % len(FIRST_AUDIO_TEXTS)] for i in range(firsts)]
        first_ms = await measure_first_audio(stack, rec, texts)
    if verbose:
        print("skips ms:", np.round(skip_ms, 1).tolist())
        print("gaps ms:", np.round(gap_ms, 2).tolist())
        print("first audio ms:", np.round(first_ms, 1).tolist())
    print(f"skip: {percentiles(skip_ms)}")
    print(f"gap: {percentiles(gap_ms)}")
    print(f"first-audio: {percentiles(first_ms)}")
    print(f"overlap: {overlap} windows")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skips", type=int, default=40)
    parser.add_argument("--gaps", type=int, default=21)
    parser.add_argument("--firsts", type=int, default=20)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if not pulse_available():
        print("bench/sound.py needs pulseaudio (apt-get install pulseaudio pulseaudio-utils)")
        return 1
    sys.setswitchinterval(0.001)  # as the daemon does
    with private_pulse() as server, client_env(server), Recorder(server) as rec:
        rec.wait_ready()
        asyncio.run(
            run(rec, skips=args.skips, gaps=args.gaps, firsts=args.firsts, verbose=args.verbose)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
