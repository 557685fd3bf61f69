"""The real daemon and the real TwitchIO bot against the local Twitch simulator.

The engine is the tone engine (fast, deterministic) unless a test passes
another; the output is a real-time WAV file, so every message is "heard".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from streamer_tts import logs
from streamer_tts.config import Config
from streamer_tts.daemon import serve
from streamer_tts.twitch.endpoints import current, point_at
from streamer_tts.twitch_sim import TwitchSim
from tests.fakes.tone_engine import ToneEngine

__all__ = ["Run", "daemon_on_sim", "pointed_at", "sim", "sim_config"]


def sim_config(sim: TwitchSim, tmp: Path, **overrides: Any) -> Config:
    """A config pointing at the simulator, with quick limits for tests."""
    tokens = tmp / "tokens.json"
    if not tokens.exists():
        sim.write_tokens_file(tokens)
    data: dict[str, Any] = {
        "twitch": sim.twitch_config(tokens),
        "audio": {"output": f"file:{tmp / 'heard.wav'}", "gap_ms": 50},
        "api": {"port": 0},
        "daemon": {"state_dir": str(tmp / "state")},
        "limits": {"per_user": None, "global": None, "max_pending_per_user": None},
    }
    for key, value in overrides.items():
        section, _, name = key.partition("__")
        if name:
            data.setdefault(section, {})[name] = value
        else:
            data[section] = value
    return Config.model_validate(data)


class Run:
    """The daemon running in this loop: its events, and ways to wait on them."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.ready = asyncio.Event()
        self.stop = asyncio.Event()
        self.changed = asyncio.Event()
        self.daemon: Any = None

    def on_event(self, record: dict[str, Any]) -> None:
        self.events.append(record)
        self.changed.set()

    def of(self, name: str, **match: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e["event"] == name and all(e.get(k) == v for k, v in match.items())
        ]

    async def wait(self, name: str, count: int = 1, timeout_s: float = 20, **match: Any) -> list:
        async def until() -> list[dict[str, Any]]:
            while len(found := self.of(name, **match)) < count:
                self.changed.clear()
                await self.changed.wait()
            return found

        return await asyncio.wait_for(until(), timeout_s)

    async def idle(self, timeout_s: float = 30) -> None:
        """Wait until nothing is queued, playing or in the inbox."""
        await asyncio.sleep(0.2)
        await asyncio.wait_for(self.daemon.conductor.drained(), timeout_s)


@asynccontextmanager
async def daemon_on_sim(
    sim: TwitchSim, config: Config, *, engines: list[Any] | None = None
) -> AsyncIterator[Run]:
    """Start `serve()` with the bot; yields once `bot.ready`; stops it after."""
    saved = current()
    run = Run()
    remove = logs.add_listener(run.on_event)

    async def until(daemon: Any) -> None:
        run.daemon = daemon
        run.ready.set()
        await run.stop.wait()

    task = asyncio.create_task(
        serve(config, until=until, engines=engines or [ToneEngine(seconds_per_char=0.01)])
    )
    try:
        waiter = asyncio.create_task(run.ready.wait())
        await asyncio.wait({task, waiter}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            raise AssertionError(f"the daemon stopped at start: exit {task.result()}")
        await run.wait(logs.BOT_READY)
        yield run
    finally:
        run.stop.set()
        await asyncio.wait_for(task, 30)
        remove()
        point_at(*saved)


@contextlib.contextmanager
def pointed_at(sim: TwitchSim) -> Iterator[None]:
    """Aim TwitchIO at ``sim``; put its endpoints back afterwards."""
    saved = point_at(**sim.endpoints)
    try:
        yield
    finally:
        point_at(*saved)


@pytest.fixture
async def sim() -> AsyncIterator[TwitchSim]:
    """A simulator with short keepalives and reconnect grace, TwitchIO aimed at it."""
    async with TwitchSim(min_keepalive_s=1, reconnect_grace_s=2) as simulator:
        with pointed_at(simulator):
            yield simulator
