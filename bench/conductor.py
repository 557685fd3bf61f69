"""Conductor benchmark: a cut never waits for an engine (issue 11).

The conductor and player driven directly (output `none`, real time), the
real Cartesia SDK against the fake server answering each cancel 5 s late.
Prints, each on one line:

- `conductor cut (timeout|skip|cheer): N/N within 50 ms, p50 X ms, max Y ms,
  loop stall max Z ms, N/N within 50 ms net of loop stalls`: a moderator
  timing out the speaking user, a `!skip`, an interrupting cheer; event in
  -> player told to cut, measured in the process (the stall: the longest
  time the OS did not run the loop meanwhile);
- `conductor sequence: N runs beside 2 CPU hogs, decisions max X ms (K over
  100 ms, L net of loop stalls), cuts max Y ms, loop stall max Z ms, announced p99 A ms, stop
  within grace: yes|no`: play, delete a queued message, time out the speaker
  100 ms later while the next one prefetches; "announced" is decided ->
  durable in the journal and logged;
- `conductor stop: N/N within the grace (G ms + 100 ms), max X ms, then
  closed in max Y ms`: a stop while a long message plays, then the player
  closed (engines wound down, bounded).

Run: `.venv/bin/python bench/conductor.py` (`make bench` runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamer_tts import logs
from streamer_tts.core.events import ChatTTS, User
from tests.edge.conductor_rig import LONG_TEXT, cartesia_rig, cpu_hogs, cut_latencies, sequence

GRACE_S = 0.3


async def cuts(runs: int) -> None:
    for kind in ("timeout", "skip", "cheer"):
        async with cartesia_rig(cancel_delay_s=5.0) as (rig, _):
            timed = await cut_latencies(rig, kind, runs)
        ms = [x for x, _ in timed]
        within = sum(1 for x in ms if x <= 50)
        net = sum(1 for x, stall in timed if x - stall <= 50)
        print(
            f"conductor cut ({kind}): {within}/{len(ms)} within 50 ms, "
            f"p50 {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms, "
            f"loop stall max {max(s for _, s in timed):.1f} ms, "
            f"{net}/{len(ms)} within 50 ms net of loop stalls",
            flush=True,
        )


async def sequences(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-conductor-") as tmp, cpu_hogs(2):
        async with cartesia_rig(Path(tmp)) as (rig, _):
            decided, cut, announced = await sequence(rig, runs)
            rig.conductor.submit(ChatTTS(id="last", user=User("late"), message=LONG_TEXT))
            await rig.wait(logs.TTS_STARTED, "last")
            t0 = time.monotonic()
            await rig.conductor.stop(grace_s=GRACE_S)
            stop_s = time.monotonic() - t0
    decisions = [x for x, _ in decided]
    stall = max(s for _, s in decided + cut)
    late = sum(1 for x in decisions if x > 100)
    late_net = sum(1 for x, stall in decided if x - stall > 100)
    p99 = sorted(announced)[int(len(announced) * 0.99)]
    print(
        f"conductor sequence: {runs} runs beside 2 CPU hogs, decisions max "
        f"{max(decisions):.1f} ms ({late} over 100 ms, {late_net} net of loop stalls), "
        f"cuts max {max(x for x, _ in cut):.1f} ms, "
        f"loop stall max {stall:.1f} ms, announced p99 {p99:.1f} ms, "
        f"stop within grace: {'yes' if stop_s <= GRACE_S + 0.1 else 'no'}",
        flush=True,
    )


async def stops(trials: int) -> None:
    within, worst_s, closed_s = 0, 0.0, 0.0
    for i in range(trials):
        async with cartesia_rig(cancel_delay_s=5.0) as (rig, _):
            rig.conductor.submit(ChatTTS(id=f"stop{i}", user=User("v"), message=LONG_TEXT))
            await rig.wait(logs.TTS_STARTED, f"stop{i}")
            t0 = time.monotonic()
            await rig.conductor.stop(grace_s=GRACE_S)
            took = time.monotonic() - t0
            t1 = time.monotonic()
        closed_s = max(closed_s, time.monotonic() - t1)
        within += took <= GRACE_S + 0.1
        worst_s = max(worst_s, took)
    print(
        f"conductor stop: {within}/{trials} within the grace ({GRACE_S * 1000:.0f} ms + 100 ms), "
        f"max {worst_s * 1000:.0f} ms, then closed in max {closed_s * 1000:.0f} ms",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cut-runs", type=int, default=200)
    parser.add_argument("--sequence-runs", type=int, default=500)
    parser.add_argument("--stop-trials", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(cuts(args.cut_runs))
    asyncio.run(sequences(args.sequence_runs))
    asyncio.run(stops(args.stop_trials))


if __name__ == "__main__":
    main()
