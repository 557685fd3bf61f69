"""Benchmark: a raid-sized chat flood through the real TwitchIO bot, then a soak.

The local Twitch simulator runs in its own process (so its memory is not
counted) and pushes 5,000 `!tts` from 2,500 users with 50 cheers among them
over the EventSub WebSocket; this process runs the real daemon (`serve()`:
TwitchIO, conversion, the conductor and its admission core, the journal)
with output `none` and a cheap tone engine, so the Twitch + decision path is
what is measured. Every message must end in exactly one decision and every
cheer must be accepted. Between floods a moderator's `!ttsclear` empties the
queue, so each flood meets the same daemon state. Prints:

    flood: N chat msgs/s through TwitchIO, D decisions, L lost
    soak: rss start X MB, end Y MB after N messages

(the soak: ten floods in a row once the core's bounded id cache is full,
RSS measured before the first and after the last).
Exits 1 if a message was lost, a cheer refused, or RSS grew more than 5 %.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamer_tts import logs
from streamer_tts.config import Config
from streamer_tts.core.admission import MAX_SEEN_IDS
from streamer_tts.daemon import serve
from tests.fakes.tone_engine import ToneEngine

CHATS = 5_000
USERS = 2_500
CHEERS = 50
PER_FLOOD = CHATS + CHEERS
SOAK_FLOODS = 10
# The core remembers the last MAX_SEEN_IDS message ids (to refuse duplicates):
# a cache that grows, by design, to its bound over the first ten floods, and
# whose dict table reaches its steady size once the ids have turned over once
# more. The soak starts after that, so it measures what a long stream adds.
WARMUP_FLOODS = -(-2 * MAX_SEEN_IDS // PER_FLOOD)
MAX_RSS_GROWTH = 0.05
STALL_S = 15.0  # no new decision for this long: the rest is lost


# --- the simulator's side (a child process) ---------------------------------------------------


async def _serve_sim(tokens: Path) -> None:
    from streamer_tts.twitch_sim import TwitchSim

    async with TwitchSim() as sim:
        sim.write_tokens_file(tokens)
        print(json.dumps(sim.twitch_config(tokens)), flush=True)
        loop = asyncio.get_running_loop()
        while command := (await loop.run_in_executor(None, sys.stdin.readline)).split():
            if command[0] == "flood":
                await sim.wait_subscribed(["channel.chat.message"], timeout=30)
                await _flood(sim, int(command[1]))
            elif command[0] == "clear":
                await sim.chat(sim.broadcaster, "!ttsclear")
            print("done", flush=True)


async def _flood(sim: Any, round_: int) -> None:
    """5,000 `!tts` from 2,500 users, a cheer every 100 messages."""
    every = CHATS // CHEERS
    for i in range(CHATS):
        await sim.chat(f"viewer{i % USERS}", f"!tts raid {round_} message {i} hype hype")
        if i % every == every - 1:
            await sim.cheer(f"cheerer{i // every}", 100, f"Cheer100 round {round_} cheer {i}")


# --- the daemon's side (this process) ---------------------------------------------------------


class Counter:
    def __init__(self) -> None:
        self.decisions = 0
        self.cheers_accepted = 0
        self.last_at = time.monotonic()
        self.cleared = 0
        self.changed = asyncio.Event()

    def on_event(self, record: dict[str, Any]) -> None:
        event = record["event"]
        if event in (logs.TTS_ACCEPTED, logs.TTS_REJECTED):
            self.decisions += 1
            self.last_at = time.monotonic()
            if event == logs.TTS_ACCEPTED and record.get("source") == "cheer":
                self.cheers_accepted += 1
        elif event == "tts.control" and record.get("action") == "clear":
            self.cleared += 1
        self.changed.set()

    async def until(self, predicate: Any, stall_s: float = STALL_S) -> None:
        while not predicate():
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), stall_s)
            except TimeoutError:
                return


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


class Sim:
    """The simulator child: one command at a time, each answered with `done`."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def do(self, command: str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), 300)
        if line.strip() != b"done":
            raise RuntimeError(f"simulator: {line!r}")


async def _flood_once(sim: Sim, counter: Counter, round_: int) -> tuple[float, int, int]:
    """One flood: (messages/s from the first sent to the last decided, decisions, cheers)."""
    decisions, cheers = counter.decisions, counter.cheers_accepted
    t0 = time.monotonic()
    await sim.do(f"flood {round_}")
    await counter.until(lambda: counter.decisions - decisions >= PER_FLOOD)
    done = counter.decisions - decisions
    rate = done / max(counter.last_at - t0, 1e-9)
    cleared = counter.cleared
    await sim.do("clear")
    await counter.until(lambda: counter.cleared > cleared)
    return rate, done, counter.cheers_accepted - cheers


async def _drive(sim: Sim, counter: Counter) -> int:
    rate, decided, cheers = await _flood_once(sim, counter, 0)
    lost = PER_FLOOD - decided
    print(f"flood: {rate:.0f} chat msgs/s through TwitchIO, {decided} decisions, {lost} lost")
    ok = lost == 0 and cheers == CHEERS
    for round_ in range(1, WARMUP_FLOODS):
        _, decided, cheers = await _flood_once(sim, counter, round_)
        ok = ok and decided == PER_FLOOD and cheers == CHEERS
    gc.collect()
    start = rss_mb()
    print(f"warm-up: {WARMUP_FLOODS} floods, twice the core's {MAX_SEEN_IDS} remembered ids")
    for round_ in range(WARMUP_FLOODS, WARMUP_FLOODS + SOAK_FLOODS):
        _, decided, cheers = await _flood_once(sim, counter, round_)
        ok = ok and decided == PER_FLOOD and cheers == CHEERS
    gc.collect()
    end = rss_mb()
    messages = SOAK_FLOODS * PER_FLOOD
    print(f"soak: rss start {start:.1f} MB, end {end:.1f} MB after {messages} messages")
    if not ok:
        print("flood: a message was lost or a cheer refused", file=sys.stderr)
    if end > start * (1 + MAX_RSS_GROWTH):
        print(f"soak: rss grew more than {MAX_RSS_GROWTH:.0%}", file=sys.stderr)
        ok = False
    return 0 if ok else 1


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="streamer-tts-flood-") as tmp:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--sim", str(Path(tmp) / "tokens.json"),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=1 << 20,
        )  # fmt: skip
        assert proc.stdout is not None
        twitch = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        config = Config.model_validate(
            {
                "twitch": twitch,
                "audio": {"output": "none"},
                "api": {"enabled": False},
                "daemon": {"state_dir": str(Path(tmp) / "state"), "stop_grace_seconds": 0},
                "queue": {"clear_drops_paid": True},
            }
        )
        counter, result = Counter(), 1
        remove = logs.add_listener(counter.on_event)

        async def until(daemon: Any) -> None:
            nonlocal result
            result = await _drive(Sim(proc), counter)

        try:
            engine = ToneEngine(seconds_per_char=0.001)
            code = await serve(config, until=until, engines=[engine])
        finally:
            remove()
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
        return result if code == 0 else code


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", type=Path, help=argparse.SUPPRESS)  # the child's mode
    args = parser.parse_args()
    if args.sim is not None:
        asyncio.run(_serve_sim(args.sim))
        sys.exit(0)
    sys.exit(asyncio.run(main()))
