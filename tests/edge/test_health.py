"""The watchdog vouches for the conductor and the output, and a dying task ends the daemon."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from streamer_tts import logs
from streamer_tts.conductor import Conductor
from streamer_tts.config import Config
from streamer_tts.daemon import serve
from streamer_tts.health import Health
from streamer_tts.inbox import Inbox
from tests.fakes.tone_engine import ToneEngine


async def test_health_needs_a_conductor_taking_from_its_inbox() -> None:
    inbox = Inbox()
    output_ok = True
    health = Health(inbox, inbox.put, lambda: output_ok)

    async def conductor() -> None:
        while True:
            await inbox.get()

    task = asyncio.create_task(conductor())
    try:
        for _ in range(3):
            assert health()
            await asyncio.sleep(0.01)  # the conductor takes the Wake
        output_ok = False  # the device is gone for good
        assert not health()
        output_ok = True
        await asyncio.sleep(0.01)
        assert health()
    finally:
        task.cancel()
    await asyncio.sleep(0.01)
    health()  # the Wake put now is never taken: the task is gone
    await asyncio.sleep(0.01)
    assert not health()
    assert not health()


async def test_a_conductor_that_dies_ends_the_daemon_with_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def dying(self: Conductor) -> None:
        await asyncio.sleep(0.2)
        raise RuntimeError("boom")

    monkeypatch.setattr(Conductor, "run", dying)
    events: list[dict[str, Any]] = []
    remove = logs.add_listener(events.append)
    config = Config.model_validate(
        {
            "audio": {"output": "none"},
            "daemon": {"state_dir": str(tmp_path / "state")},
            "api": {"enabled": False},
        }
    )

    async def forever(daemon: object) -> None:
        await asyncio.Event().wait()

    try:
        code = await asyncio.wait_for(
            serve(config, until=forever, twitch=False, engines=[ToneEngine()]), 30
        )
    finally:
        remove()
    assert code == 1
    failed = [e for e in events if e["event"] == logs.DAEMON_TASK_FAILED]
    assert failed and failed[0]["task"] == "conductor" and "boom" in failed[0]["error"]
