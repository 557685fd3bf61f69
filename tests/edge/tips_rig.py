"""The daemon (real conductor, journal, API; a tone engine, output `none`)
with tip sources configured, and a record of every event it logs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from streamer_tts import logs
from streamer_tts.config import Config
from streamer_tts.daemon import serve
from tests.fakes.tone_engine import ToneEngine


class Rig:
    def __init__(self, daemon: Any, events: list[dict[str, Any]]) -> None:
        self.daemon = daemon
        self.events = events
        api = daemon.api
        self.url = api.url if api is not None else ""
        self.token = api.token if api is not None else ""

    def find(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        return [
            r
            for r in self.events
            if r["event"] == event and all(r.get(k) == v for k, v in fields.items())
        ]

    async def wait(
        self, event: str, count: int = 1, timeout_s: float = 20.0, **fields: Any
    ) -> list[dict[str, Any]]:
        """Until `count` events named `event` with these fields were logged."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(found := self.find(event, **fields)) < count:
            if loop.time() > deadline:
                names = [r["event"] for r in self.events[-30:]]
                raise AssertionError(f"no {count}x {event} {fields}; last events: {names}")
            await asyncio.sleep(0.02)
        return found


def config(tmp_path: Path, sources: dict[str, Any], **extra: Any) -> Config:
    return Config.model_validate(
        {
            "audio": {"output": "none", "gap_ms": 0},
            "daemon": {"state_dir": str(tmp_path / "state")},
            "api": {"port": 0},
            "sources": sources,
            **extra,
        }
    )


@contextlib.asynccontextmanager
async def running(tmp_path: Path, sources: dict[str, Any], **extra: Any) -> AsyncIterator[Rig]:
    """Serve until the block ends; a clean stop (exit 0) is checked."""
    events: list[dict[str, Any]] = []
    remove: Callable[[], None] = logs.add_listener(events.append)
    ready: asyncio.Future[Rig] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def until(daemon: Any) -> None:
        ready.set_result(Rig(daemon, events))
        await stop.wait()

    engine = ToneEngine(seconds_per_char=0.001)
    task = asyncio.create_task(
        serve(config(tmp_path, sources, **extra), until=until, twitch=False, engines=[engine])
    )
    try:
        done, _ = await asyncio.wait({task, ready}, timeout=30, return_when="FIRST_COMPLETED")
        if ready not in done:
            raise AssertionError(
                f"the daemon did not start: {task.result() if task.done() else 'timeout'}"
            )
        yield ready.result()
    finally:
        stop.set()
        code = await asyncio.wait_for(task, 30)
        remove()
    assert code == 0
