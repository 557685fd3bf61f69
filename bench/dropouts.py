"""Dropout benchmark: silences inside streamed messages, heard at a real sound server.

A streaming voice that delivers at exactly real-time pace leaves the device
nothing to play whenever one chunk is a few ms late, unless the player holds
some audio back. This plays messages from the project's fake Cartesia server
(real SDK, real socket), paced at real time (40 ms chunks, 90 ms to the first
one) through the daemon's whole sound path into a private PulseAudio null
sink, recorded with parec, once on a quiet machine and once with two
CPU-bound processes running beside it. Prints exactly one line:

    dropouts: N in M messages (quiet), K in M messages (2 busy cores); first-audio p95 X ms

N and K count silences (≥ 0.5 ms) inside messages at the sink; first-audio
is message in -> first sound at the sink, the engine's 90 ms included (the
larger p95 of the two runs).

Run: `.venv/bin/python bench/dropouts.py` (needs pulseaudio; `make bench` runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamer_tts import logs
from streamer_tts.audio.outputs import native_rate
from streamer_tts.speech.cartesia import CartesiaEngine
from tests.edge.pulse import Recorder, client_env, private_pulse, pulse_available
from tests.edge.sound_analysis import inner_silences
from tests.edge.stack import RECORD_RATE, Stack
from tests.fakes.cartesia_server import TONE_AMPLITUDE, FakeCartesiaServer

CHUNK_MS = 40
FIRST_CHUNK_S = 0.090
GAP_MS = 300
TEXT = "Thanks for the follow, friend!"  # 30 characters: 1.8 s of tone
QUIET = TONE_AMPLITUDE / 20  # a sine's samples pass below this for well under a sample


@contextlib.contextmanager
def fake_cartesia(*, max_lateness_s: float = 0.0, seed: int = 0) -> Iterator[FakeCartesiaServer]:
    """The fake in a thread of its own, like a remote service: the daemon's
    own event loop being busy cannot delay what the server sends."""
    server = FakeCartesiaServer()
    server.realtime = True
    server.chunk_ms = CHUNK_MS
    server.slow_first_chunk_s = FIRST_CHUNK_S
    server.max_lateness_s = max_lateness_s
    server.rng.seed(seed)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-cartesia", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def cartesia_engine(server: FakeCartesiaServer, sample_rate: int) -> CartesiaEngine:
    return CartesiaEngine(
        api_key=server.api_key,
        model="sonic-3",
        voice=next(iter(server.voices)),
        websocket_url=server.websocket_url,
        base_url=server.base_url,
        sample_rate=sample_rate,
    )


async def play_and_measure(
    stack: Stack, rec: Recorder, count: int, *, text: str = TEXT, tag: str = "m"
) -> tuple[int, list[tuple[int, int]], list[float]]:
    """Play ``count`` messages in turn: (messages heard, silences inside, first-audio ms)."""
    await asyncio.sleep(0.5)  # a separating silence before the first message
    t0 = time.monotonic() - 0.2
    first_ms = []
    for i in range(count):
        mid = f"{tag}{i}"
        t_in = stack.say(mid, text, who=f"u{i}")
        await stack.wait(logs.TTS_FINISHED, mid, timeout_s=30)
        await asyncio.to_thread(rec.wait_covered, time.monotonic())
        samples = rec.samples()
        lo = rec.time_frame(t_in)
        loud = np.flatnonzero(np.abs(samples[lo:].astype(np.int32)) >= QUIET)
        if loud.size == 0:
            raise AssertionError(f"message {mid} was never heard")
        first_ms.append((rec.heard_time(lo + int(loud[0])) - t_in) * 1000)
        await asyncio.sleep(0.1)
    t1 = time.monotonic() + 0.2
    await asyncio.to_thread(rec.wait_covered, t1)
    window = rec.samples()[rec.time_frame(t0) : rec.time_frame(t1)]
    messages, silences = inner_silences(
        window, RECORD_RATE, quiet=QUIET, between_ms=GAP_MS / 2, min_ms=0.5
    )
    return len(messages), silences, first_ms


@contextlib.contextmanager
def busy_cores(n: int) -> Iterator[None]:
    """``n`` CPU-bound processes beside the daemon (a game, an encoder)."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


async def run_once(
    rec: Recorder, count: int, *, verbose: bool, label: str
) -> tuple[int, int, list[float]]:
    rate = native_rate("default", fallback_hz=RECORD_RATE)
    with fake_cartesia() as server:
        async with Stack(cartesia_engine(server, rate), gap_ms=GAP_MS) as stack:
            heard, silences, first_ms = await play_and_measure(stack, rec, count, tag=label)
            underruns = [e for e in stack.events if e["event"] == "audio.underrun"]
    if verbose:
        ms = [round((b - a) * 1000 / RECORD_RATE, 1) for a, b in silences]
        print(f"{label}: heard {heard} messages, silences ms {ms}")
        print(f"{label}: audio.underrun events {[(e['id'], e['ms']) for e in underruns]}")
        print(f"{label}: first audio ms {np.round(first_ms, 1).tolist()}")
    if heard != count:
        print(f"warning: {label}: heard {heard} messages, played {count}", file=sys.stderr)
    return len(silences), heard, first_ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=60)
    parser.add_argument("--busy", type=int, default=2, help="CPU-bound processes in run two")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if not pulse_available():
        print("bench/dropouts.py needs pulseaudio (apt-get install pulseaudio pulseaudio-utils)")
        return 1
    sys.setswitchinterval(0.001)  # as the daemon does
    m = args.messages
    with private_pulse() as server, client_env(server), Recorder(server) as rec:
        rec.wait_ready()
        quiet, _, first_quiet = asyncio.run(run_once(rec, m, verbose=args.verbose, label="quiet"))
        with busy_cores(args.busy):
            busy, _, first_busy = asyncio.run(run_once(rec, m, verbose=args.verbose, label="busy"))
    p95 = max(float(np.percentile(first_quiet, 95)), float(np.percentile(first_busy, 95)))
    print(
        f"dropouts: {quiet} in {m} messages (quiet), {busy} in {m} messages "
        f"({args.busy} busy cores); first-audio p95 {p95:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
