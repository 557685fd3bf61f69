"""First-audio benchmark per engine, wall clock, at a real-time sound server.

From the moment a chat event enters the daemon (conductor inbox) to the first
audible sample at a private PulseAudio null sink (recorded with parec): the
engine's own synthesis time included, as a viewer would hear it. Each message
arrives to an idle daemon (nothing prefetched, the engine not busy), is
heard, then skipped.
Messages are 1 to 3 sentences, the first one 3 to 40 words. Prints, each on a
line of a fixed form:

- `first-audio piper (wall): p50 X ms, p95 Y ms`
- `first-audio espeak (wall): p50 X ms, p95 Y ms`

Run: `.venv/bin/python bench/first_audio.py` (needs pulseaudio and espeak-ng;
`make bench` runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamer_tts import logs
from streamer_tts.core.events import Skip
from tests.edge.pulse import Recorder, client_env, private_pulse, pulse_available
from tests.edge.stack import MOD, Stack

VERBOSE = False
HEARD_LEVEL = 300
"""|sample| at the sink above this counts as sound (as bench/sound.py)."""
WORDS = [
    "thanks",
    "for",
    "the",
    "raid",
    "everyone",
    "welcome",
    "to",
    "stream",
    "tonight",
    "we",
    "are",
    "playing",
    "a",
    "new",
    "game",
    "with",
    "friends",
    "and",
    "chat",
    "that",
    "was",
    "an",
    "amazing",
    "clutch",
    "play",
    "do",
    "you",
    "think",
    "the",
    "boss",
    "will",
    "drop",
    "something",
    "good",
    "this",
    "time",
    "I",
    "really",
    "hope",
    "so",
    "because",
    "we",
    "have",
    "been",
    "farming",
    "it",
    "for",
    "hours",
]


def message(rng: random.Random) -> str:
    """1 to 3 sentences, the first of 3 to 40 words, sometimes with a comma."""
    sentences = []
    for n in range(rng.randint(1, 3)):
        count = rng.randint(3, 40) if n == 0 else rng.randint(3, 15)
        words = [rng.choice(WORDS) for _ in range(count)]
        if count > 8 and rng.random() < 0.5:
            at = rng.randint(3, count - 3)
            words[at] += ","
        sentences.append(" ".join(words).capitalize() + rng.choice(".!?"))
    return " ".join(sentences)


def percentiles(values: list[float]) -> str:
    p50, p95 = (round(float(v), 1) + 0.0 for v in np.percentile(values, [50, 95]))
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"


async def measure(stack: Stack, rec: Recorder, texts: list[str], label: str) -> list[float]:
    """Event in -> first sound at the sink (ms), the engine's time included."""
    await asyncio.sleep(0.5)  # the engine warmed up by start(), the sink silent
    inputs: list[float] = []
    engine_ms: list[float] = []
    for i, text in enumerate(texts):
        mid = f"{label}{i}"
        inputs.append(stack.say(mid, text, who=f"u{i}"))
        started = await stack.wait(logs.TTS_STARTED, mid, timeout_s=30)
        engine_ms.append(float(started.get("first_audio_ms") or 0.0))
        await asyncio.sleep(0.4)  # heard for a while, then cut: the rest is not measured
        stack.conductor.submit(Skip(by=MOD))
        ended = await asyncio.wait(
            [
                asyncio.ensure_future(stack.wait(logs.TTS_SKIPPED, mid, timeout_s=30)),
                asyncio.ensure_future(stack.wait(logs.TTS_FINISHED, mid, timeout_s=30)),
            ],
            return_when=asyncio.FIRST_COMPLETED,
        )
        for task in ended[1]:
            task.cancel()
        # idle again before the next goes in: the cut is silent at the sink, and a
        # piece the engine was making when cut is done (a skip cannot stop it)
        await asyncio.sleep(1.0)
    await asyncio.to_thread(rec.wait_covered, time.monotonic())
    samples = rec.samples()
    out = []
    for i, t_in in enumerate(inputs):
        lo = rec.time_frame(t_in)
        loud = np.flatnonzero(np.abs(samples[lo:].astype(np.int32)) > HEARD_LEVEL)
        if loud.size == 0:
            raise AssertionError(f"message {label}{i} was never heard")
        out.append((rec.heard_time(lo + int(loud[0])) - t_in) * 1000)
    if VERBOSE:
        for text, wall, own in zip(texts, out, engine_ms, strict=True):
            print(f"  {wall:7.1f} ms wall, {own:7.1f} ms engine: {text[:60]!r}")
    return out


async def run(
    rec: Recorder, *, count: int, engines: list[str], verbose: bool, lufs: float | None
) -> None:
    rng = random.Random(12)
    texts = [message(rng) for _ in range(count)]
    results: dict[str, list[float]] = {}
    for name in engines:
        if name == "piper":
            from streamer_tts.speech.piper import PiperEngine

            engine: object = PiperEngine()
        else:
            from streamer_tts.speech.espeak import EspeakEngine

            engine = EspeakEngine()
        async with Stack(engine, gap_ms=300, loudness_lufs=lufs) as stack:
            results[name] = await measure(stack, rec, texts, name)
    for name, values in results.items():
        if verbose:
            print(f"{name} first audio ms:", np.round(values, 1).tolist())
        print(f"first-audio {name} (wall): {percentiles(values)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=30, help="messages per engine")
    parser.add_argument("--engines", default="piper,espeak")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument(
        "--loudness-lufs", default="-18", help="audio.loudness_lufs (the default), none: raw"
    )
    args = parser.parse_args(argv)
    if not pulse_available():
        print("bench/first_audio.py needs pulseaudio (apt-get install pulseaudio pulseaudio-utils)")
        return 1
    sys.setswitchinterval(0.001)  # as the daemon does
    global VERBOSE
    VERBOSE = args.verbose
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    with private_pulse() as server, client_env(server), Recorder(server) as rec:
        rec.wait_ready()
        lufs = None if args.loudness_lufs == "none" else float(args.loudness_lufs)
        asyncio.run(run(rec, count=args.count, engines=engines, verbose=args.verbose, lufs=lufs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
