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

A second line says what the machine took meanwhile, to read the first by:

    dropouts machine: cpu steal A% (quiet), B% (busy); freezes over D ms F (quiet), G (busy), ...

Steal is the share of CPU time the hypervisor gave to other guests (from
/proc/stat; 0 on hardware of its own). A freeze is a wait, longer than the
device buffer (D, ~17 ms), of a real-time process on a CPU beside the
benchmark that wakes every 25 ms: that CPU stood still, a silence no player
inside it can prevent (see bench/machine.py).

With ``--hold MS`` it instead plays the messages once on a machine whose
CPUs are all held for MS ms every ``--hold-every`` s (`bench.machine.MachineHold`),
the freezes a hypervisor makes, on purpose and alike on every run, and prints:

    dropouts held: N in M messages, every CPU held H ms every P s; first-audio p95 X ms

Run: `.venv/bin/python bench/dropouts.py` (needs pulseaudio; `make bench` runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import FreezeProbe, MachineHold, cpu_times, steal_percent
from streamer_tts.audio.devices import FRAMES_PER_BUFFER
from streamer_tts.audio.outputs import native_rate
from streamer_tts.speech.cartesia import CartesiaEngine
from tests.edge.conductor_rig import cpu_hogs
from tests.edge.pulse import Recorder, client_env, private_pulse, pulse_available
from tests.edge.stack import (
    RECORD_RATE,
    FakeCartesiaProcess,
    Stack,
    fake_cartesia_process,
    measure_dropouts,
)

CHUNK_MS = 40
FIRST_CHUNK_S = 0.090
GAP_MS = 300  # messages apart: silences shorter than half of it are inside one
TEXT = "Thanks for the follow, friend!"  # 30 characters: 1.8 s of tone


class Machine(NamedTuple):
    steal_percent: float
    freezes: int
    """Waits of a real-time process beside it longer than the device buffer."""
    device_ms: float
    worst_ms: float


def cartesia_engine(server: FakeCartesiaProcess, sample_rate: int) -> CartesiaEngine:
    return CartesiaEngine(
        api_key=server.api_key,
        model="sonic-3",
        voice=server.voice,
        websocket_url=f"ws://127.0.0.1:{server.port}",
        base_url=f"http://127.0.0.1:{server.port}",
        sample_rate=sample_rate,
    )


async def run_once(
    rec: Recorder,
    count: int,
    *,
    verbose: bool,
    label: str,
    frames_per_buffer: int = FRAMES_PER_BUFFER,
    output: str = "default",
) -> tuple[int, int, list[float], Machine]:
    """(silences, messages heard, first-audio ms, what the machine did meanwhile)."""
    rate = native_rate("default", fallback_hz=RECORD_RATE)
    with fake_cartesia_process(chunk_ms=CHUNK_MS, first_chunk_s=FIRST_CHUNK_S) as server:
        engine = cartesia_engine(server, rate)
        async with Stack(
            engine, gap_ms=GAP_MS, frames_per_buffer=frames_per_buffer, output=output
        ) as stack:
            before = cpu_times()
            with FreezeProbe() as probe:
                heard, silences, first_ms = await measure_dropouts(
                    stack, rec, count, text=TEXT, tag=label
                )
            device_ms = 2 * frames_per_buffer * 1000 / rate  # what the device holds
            machine = Machine(
                steal_percent(before, cpu_times()), probe.over(device_ms), device_ms, probe.worst_ms
            )
            underruns = [e for e in stack.events if e["event"] == "audio.underrun"]
            engine_ms = [
                e.get("first_audio_ms") for e in stack.events if e["event"] == "tts.started"
            ]
            output = stack.player.output
            device = (
                getattr(output, "underflows", 0),
                getattr(output, "scheduling", ""),
                getattr(output, "reopens", 0),
                getattr(output, "splices", 0),
            )
            lost = [(e["event"], e.get("reason", "")) for e in stack.events if "lost" in e["event"]]
    if verbose:
        ms = [round((b - a) * 1000 / RECORD_RATE, 1) for a, b in silences]
        print(f"{label}: heard {heard} messages, silences ms {ms}")
        print(f"{label}: the machine froze for ms {[w for w in probe.waits_ms if w > device_ms]}")
        print(f"{label}: audio.underrun events {[(e['id'], e['ms']) for e in underruns]}")
        print(f"{label}: first audio ms {np.round(first_ms, 1).tolist()}")
        print(f"{label}: of which the engine ms {[round(ms or 0) for ms in engine_ms]}")
        print(
            f"{label}: device underflows {device[0]}, callback thread scheduling {device[1]}, "
            f"reopened {device[2]} times {lost}, spliced {device[3]} times"
        )
    if heard != count:
        print(f"warning: {label}: heard {heard} messages, played {count}", file=sys.stderr)
    return len(silences), heard, first_ms, machine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=60)
    parser.add_argument("--busy", type=int, default=2, help="CPU-bound processes in run two")
    parser.add_argument(
        "--frames-per-buffer", type=int, default=FRAMES_PER_BUFFER, help="device buffer"
    )
    parser.add_argument(
        "--hold", type=float, metavar="MS", help="only one run, every CPU held MS ms at a time"
    )
    parser.add_argument("--hold-every", type=float, default=2.0, metavar="S", help="with --hold")
    parser.add_argument("--output", default="default", help="audio.output (default, pulse)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if not pulse_available():
        print("bench/dropouts.py needs pulseaudio (apt-get install pulseaudio pulseaudio-utils)")
        return 1
    sys.setswitchinterval(0.001)  # as the daemon does
    m = args.messages
    opts = {
        "verbose": args.verbose,
        "frames_per_buffer": args.frames_per_buffer,
        "output": args.output,
    }
    if args.hold is not None:
        return held(args.hold, args.hold_every, m, opts)
    with private_pulse() as server, client_env(server), Recorder(server) as rec:
        rec.wait_ready()
        quiet, _, first_quiet, calm = asyncio.run(run_once(rec, m, label="quiet", **opts))
        with cpu_hogs(args.busy):
            busy, _, first_busy, loaded = asyncio.run(run_once(rec, m, label="busy", **opts))
    p95 = max(float(np.percentile(first_quiet, 95)), float(np.percentile(first_busy, 95)))
    print(
        f"dropouts: {quiet} in {m} messages (quiet), {busy} in {m} messages "
        f"({args.busy} busy cores); first-audio p95 {p95:.0f} ms"
    )
    print(
        f"dropouts machine: cpu steal {calm.steal_percent:.1f}% (quiet), "
        f"{loaded.steal_percent:.1f}% (busy); freezes over {calm.device_ms:.0f} ms "
        f"{calm.freezes} (quiet), {loaded.freezes} (busy), "
        f"longest {max(calm.worst_ms, loaded.worst_ms):.0f} ms"
    )
    return 0


def held(hold_ms: float, every_s: float, m: int, opts: dict[str, Any]) -> int:
    """One run on a machine held on purpose (see the module doc)."""
    with (
        private_pulse() as server,
        client_env(server),
        Recorder(server) as rec,
        MachineHold(hold_ms, every_s) as hold,
    ):
        if not hold.realtime:
            print("bench/dropouts.py --hold needs real-time scheduling (root or LimitRTPRIO)")
            return 1
        rec.wait_ready()
        silences, _, first, machine = asyncio.run(run_once(rec, m, label="held", **opts))
    print(
        f"dropouts held: {silences} in {m} messages, every CPU held {hold_ms:g} ms "
        f"every {every_s:g} s; first-audio p95 {float(np.percentile(first, 95)):.0f} ms"
    )
    if opts["verbose"]:
        print(f"held: freezes over {machine.device_ms:.0f} ms {machine.freezes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
