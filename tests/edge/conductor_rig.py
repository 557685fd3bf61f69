"""The conductor and player driven directly, for latency tests and `bench/conductor.py`.

No Twitch: events are submitted as the adapters would. The player writes to
output `none` (paced in real time, like a device) and speaks through the
real Cartesia SDK against the fake server, which answers a cancel late
(`cancel_delay_s`). Latency is measured inside the process: from the
moment an event is submitted to the moment it is decided, and to the
moment the player is told to cut. `LoopLag` measures how late the event
loop itself ran meanwhile (the OS scheduler on a loaded machine), which no
code of ours can make up for: tests allow for it, the bench prints both.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from streamer_tts import logs
from streamer_tts.audio.player import Player
from streamer_tts.conductor import Conductor
from streamer_tts.core.admission import Admission
from streamer_tts.core.decisions import Priority
from streamer_tts.core.events import (
    ChatTTS,
    Cheer,
    Clear,
    DeleteMessage,
    PurgeUser,
    Role,
    Skip,
    User,
)
from streamer_tts.core.limits import LimitPolicy
from streamer_tts.core.rules import NameMode, Rules
from streamer_tts.core.tiers import Tier, TierTable
from streamer_tts.journal import Journal
from streamer_tts.limiter import aiolimiter_gate
from tests.fakes.cartesia_server import FakeCartesiaServer

__all__ = ["LoopLag", "Rig", "cartesia_rig", "cpu_hogs", "cut_latencies", "sequence"]

RATE = 22050
MOD = User("mod", "Mod", frozenset({Role.MODERATOR}))
RULES = replace(
    Rules(),
    limits=LimitPolicy(per_user=None, global_=None, max_pending_per_user=None),
    read_usernames=NameMode.NEVER,
    queue_max_size=1000,
    tiers=TierTable.of([Tier(5000, Priority.URGENT, interrupt=True), Tier(1, Priority.NORMAL)]),
)
LONG_TEXT = "a long message that keeps playing for a while " * 2


class LoopLag:
    """A task that wakes every 2 ms and records how late it woke."""

    PERIOD_S = 0.002

    def __init__(self) -> None:
        self.samples: deque[tuple[float, float]] = deque(maxlen=200_000)  # (woke at, late s)

    async def run(self) -> None:
        while True:
            t = time.monotonic()
            await asyncio.sleep(self.PERIOD_S)
            now = time.monotonic()
            self.samples.append((now, max(0.0, now - t - self.PERIOD_S)))

    def during_ms(self, t0: float, t1: float) -> float:
        """The longest stall of the loop overlapping [t0, t1], in ms."""
        worst = 0.0
        for woke, late in reversed(self.samples):
            if woke < t0:
                break
            if woke - late - self.PERIOD_S <= t1:
                worst = max(worst, late)
        return worst * 1000


class Rig:
    """One conductor + player; every log event kept, cut and decision times recorded."""

    def __init__(self, engines: list[Any], journal: Journal | None = None) -> None:
        self._switch = sys.getswitchinterval()
        self.player = Player(engines=engines, output="none", sample_rate=RATE, gap_ms=20)
        self.admission = Admission(RULES, aiolimiter_gate)
        self.conductor = Conductor(self.admission, self.player, journal=journal)
        self.conductor.on_decision = self._decided
        self.events: list[dict[str, Any]] = []
        self.cut_at: dict[str, float] = {}
        self.decided_at: dict[object, float] = {}  # event -> when admission decided it
        self.announced_at: dict[object, float] = {}  # event -> when its decision was announced
        self.lag = LoopLag()
        decide = self.admission.decide

        def timed_decide(event: Any, now: float, *on_air: Any) -> Any:
            self.decided_at.setdefault(event, time.monotonic())
            return decide(event, now, *on_air)

        self.admission.decide = timed_decide  # type: ignore[method-assign]
        self._waiters: list[tuple[str, str, asyncio.Future[None]]] = []
        cut = self.player.cut

        def timed_cut(message_id: str) -> bool:  # the player's own cut, timed
            self.cut_at.setdefault(message_id, time.monotonic())
            self._wake("cut", message_id)
            return cut(message_id)

        self.player.cut = timed_cut  # type: ignore[method-assign]

    def _decided(self, event: object, decision: object) -> None:
        self.announced_at.setdefault(event, time.monotonic())

    def _on_event(self, record: dict[str, Any]) -> None:
        self.events.append(record)
        self._wake(record["event"], str(record.get("id", "")))

    def _wake(self, name: str, mid: str) -> None:
        for n, m, fut in self._waiters:
            if n == name and m == mid and not fut.done():
                fut.set_result(None)

    async def wait(self, name: str, mid: str, timeout_s: float = 10.0) -> None:
        seen = mid in self.cut_at if name == "cut" else False
        seen = seen or any(e["event"] == name and e.get("id") == mid for e in self.events)
        if seen:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((name, mid, fut))
        try:
            await asyncio.wait_for(fut, timeout_s)
        finally:
            self._waiters.remove((name, mid, fut))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Rig]:
        remove = logs.add_listener(self._on_event)
        sys.setswitchinterval(0.001)  # as the daemon does: threads hand the GIL over fast
        await self.player.start()
        task = asyncio.create_task(self.conductor.run())
        lag = asyncio.create_task(self.lag.run())
        try:
            yield self
        finally:
            lag.cancel()
            task.cancel()
            await self.player.close()
            self.conductor.close()
            remove()
            sys.setswitchinterval(self._switch)

    async def settle(self, timeout_s: float = 10.0) -> None:
        await asyncio.wait_for(self.conductor.drained(), timeout_s)


@contextlib.asynccontextmanager
async def cartesia_rig(
    journal_dir: Path | None = None, cancel_delay_s: float = 5.0
) -> AsyncIterator[tuple[Rig, FakeCartesiaServer]]:
    """A rig on the real Cartesia SDK; the fake server honours a cancel only after 5 s."""
    from streamer_tts.speech.cartesia import CartesiaEngine

    async with FakeCartesiaServer() as server:
        server.cancel_delay_s = cancel_delay_s
        server.chunk_delay_s = 0.02  # paced: a cancelled context keeps streaming meanwhile
        engine = CartesiaEngine(
            api_key=server.api_key,
            model="sonic-3",
            voice=next(iter(server.voices)),
            websocket_url=server.websocket_url,
            base_url=server.base_url,
            sample_rate=RATE,
            first_chunk_timeout_s=3.0,
            chunk_timeout_s=3.0,
        )
        journal = Journal.open(journal_dir) if journal_dir is not None else None
        rig = Rig([engine], journal)
        try:
            async with rig.running():
                yield rig, server
        finally:
            if journal is not None:
                journal.close()


async def cut_latencies(rig: Rig, kind: str, runs: int) -> list[tuple[float, float]]:
    """Event in -> player told to cut the speaking message (ms), `runs` times,
    each with the loop's longest stall meanwhile (ms).

    `kind`: "timeout" (a moderator times the speaker out), "skip", or
    "cheer" (a cheer on an interrupting tier arrives).
    """
    out = []
    for i in range(runs):
        mid, speaker = f"{kind}{i}", f"speaker{kind}{i}"
        rig.conductor.submit(ChatTTS(id=mid, user=User(speaker), message=LONG_TEXT))
        await rig.wait(logs.TTS_STARTED, mid)
        event: object
        if kind == "timeout":
            event = PurgeUser(login=speaker, reason="timeout")
        elif kind == "skip":
            event = Skip(by=MOD)
        else:
            event = Cheer(
                id=f"big{kind}{i}", user=User(f"whale{i}"), amount_bits=5000, message="hi"
            )
        t0 = time.monotonic()
        rig.conductor.submit(event)
        await rig.wait("cut", mid)
        out.append(((rig.cut_at[mid] - t0) * 1000, rig.lag.during_ms(t0, rig.cut_at[mid])))
        if kind == "cheer":  # the cut one went back to the queue: clear it, skip the cheer
            rig.conductor.submit(Clear(by=MOD))
            await rig.wait(logs.TTS_STARTED, f"big{kind}{i}")
            rig.conductor.submit(Skip(by=MOD))
        await rig.settle()
    return out


Timed = tuple[float, float]  # (delay ms, the loop's longest stall meanwhile ms)


async def sequence(rig: Rig, runs: int) -> tuple[list[Timed], list[Timed], list[float]]:
    """Play; delete a queued message; 100 ms later time the speaker out while
    the next one prefetches. Returns (decision delays, cut delays,
    announcement delays: decided -> durable and announced), in ms."""
    decisions: list[Timed] = []
    cuts: list[Timed] = []
    announced: list[float] = []
    for i in range(runs):
        speaker = f"talker{i}"
        now, queued, nxt = f"seq{i}a", f"seq{i}b", f"seq{i}c"
        rig.conductor.submit(ChatTTS(id=now, user=User(speaker), message=LONG_TEXT))
        rig.conductor.submit(ChatTTS(id=queued, user=User(f"other{i}"), message="deleted soon"))
        rig.conductor.submit(ChatTTS(id=nxt, user=User(f"third{i}"), message="next up"))
        await rig.wait(logs.TTS_STARTED, now)
        delete = DeleteMessage(message_id=queued)
        t_delete = time.monotonic()
        rig.conductor.submit(delete)
        await asyncio.sleep(0.1)
        purge = PurgeUser(login=speaker, reason="timeout")
        t_purge = time.monotonic()
        rig.conductor.submit(purge)
        await rig.wait("cut", now)
        cut_at = rig.cut_at[now]
        cuts.append(((cut_at - t_purge) * 1000, rig.lag.during_ms(t_purge, cut_at)))
        await rig.wait(logs.TTS_STARTED, nxt)
        for event, t in ((delete, t_delete), (purge, t_purge)):
            at = rig.decided_at[event]
            decisions.append(((at - t) * 1000, rig.lag.during_ms(t, at)))
            announced.append((rig.announced_at[event] - at) * 1000)
        rig.conductor.submit(Skip(by=MOD))
        await rig.settle()
    return decisions, cuts, announced


def _ordinary_nice() -> None:
    """The busy programs run at the ordinary nice 0, whatever the daemon asked for itself."""
    os.setpriority(os.PRIO_PROCESS, 0, 0)


@contextlib.contextmanager
def cpu_hogs(n: int = 2) -> Iterator[None]:
    """`n` CPU-bound processes beside the test (a loaded machine: a game, an encoder)."""
    procs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=_ordinary_nice)
        for _ in range(n)
    ]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()
