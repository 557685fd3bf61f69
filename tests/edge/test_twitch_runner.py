"""The bot's lifecycle in the daemon: Twitch unreachable at start, a bot that dies.

The real daemon and the real TwitchIO bot against the simulator: started
before the simulator, the daemon serves its API, retries, and reads chat once
Twitch is up; a bot that stops by itself ends the daemon with exit 1.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import twitchio

from streamer_tts import logs
from streamer_tts.daemon import serve
from streamer_tts.twitch.endpoints import current, point_at
from streamer_tts.twitch.runner import is_transient
from streamer_tts.twitch_sim import TwitchSim
from tests.edge.twitch_rig import Run, daemon_on_sim, sim_config
from tests.fakes.tone_engine import ToneEngine

pytestmark = pytest.mark.timeout(90)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_twitch_down_at_start_then_up(tmp_path: Path) -> None:
    sim = TwitchSim(port=free_port())  # made (tokens issued) but not serving yet
    config = sim_config(sim, tmp_path)
    run, saved = Run(), current()
    remove = logs.add_listener(run.on_event)

    async def until(daemon: Any) -> None:
        run.daemon = daemon
        run.ready.set()
        await run.stop.wait()

    task = asyncio.create_task(
        serve(config, until=until, engines=[ToneEngine(seconds_per_char=0.01)])
    )
    try:
        await asyncio.wait_for(run.ready.wait(), 30)
        await run.wait("twitch.unreachable", 2, timeout_s=10)  # retrying, not exiting
        assert not task.done() and not run.of(logs.BOT_READY)
        api = run.daemon.api
        async with aiohttp.ClientSession() as http:  # the control API serves meanwhile
            headers = {"Authorization": f"Bearer {api.token}"}
            async with http.get(f"{api.url}/api/queue", headers=headers) as resp:
                assert resp.status == 200
            body = {"text": "Twitch is down, the voice is not"}
            async with http.post(f"{api.url}/api/tts", json=body, headers=headers) as resp:
                assert resp.status == 200
        await run.wait(logs.TTS_FINISHED)  # the voice speaks meanwhile
        delays = [e["retry_in_s"] for e in run.of("twitch.unreachable")]
        assert delays[:2] == [1.0, 2.0]
        async with sim:
            await run.wait(logs.BOT_READY, timeout_s=30)
            await sim.chat("alice", "!tts twitch is back")
            accepted = await run.wait(logs.TTS_ACCEPTED, source="chat")
            run.stop.set()
            assert await asyncio.wait_for(task, 30) == 0
    finally:
        run.stop.set()
        if not task.done():
            task.cancel()
        remove()
        point_at(*saved)
    assert accepted[0]["user"] == "alice"


async def test_down_at_start_then_a_refused_token_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An outage is waited out; what Twitch says once it answers still counts."""
    sim = TwitchSim(port=free_port())
    sim.write_tokens_file(tmp_path / "tokens.json", logins=[sim.broadcaster.login])  # no bot
    config = sim_config(sim, tmp_path)
    run, saved = Run(), current()
    remove = logs.add_listener(run.on_event)
    task = asyncio.create_task(serve(config, journal=False, engines=[ToneEngine()]))
    try:
        await run.wait("twitch.unreachable", timeout_s=30)
        assert not task.done()
        async with sim:
            code = await asyncio.wait_for(task, 30)
    finally:
        if not task.done():
            task.cancel()
        remove()
        point_at(*saved)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "bot account" in err[0] and "make auth" in err[0]


async def test_a_bot_that_stops_by_itself_exits_1_with_its_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    async with TwitchSim() as sim:
        config = sim_config(sim, tmp_path)
        saved = current()
        run = Run()
        remove = logs.add_listener(run.on_event)

        async def until(daemon: Any) -> None:
            run.daemon = daemon
            run.ready.set()
            await run.stop.wait()

        task = asyncio.create_task(
            serve(config, until=until, engines=[ToneEngine(seconds_per_char=0.01)])
        )
        try:
            await run.wait(logs.BOT_READY, timeout_s=30)
            await asyncio.wait_for(run.ready.wait(), 10)
            bot = run.daemon.conductor.on_decision.__self__  # the runner hands it over
            await bot.close()  # as if TwitchIO's own task had ended
            assert await asyncio.wait_for(task, 30) == 1
        finally:
            run.stop.set()
            remove()
            point_at(*saved)
    assert run.of("twitch.failed")
    assert any(r.exc_info for r in caplog.records if r.name == "streamer_tts.twitch.runner")


async def test_bad_app_credentials_exit_2_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with TwitchSim(client_secret="the-real-secret") as sim:
        config = sim_config(sim, tmp_path)  # carries sim.client_secret ...
        sim.client_secret = "rotated-on-the-console"  # ... which Twitch no longer takes
        saved = current()
        try:
            code = await asyncio.wait_for(serve(config, journal=False), 30)
        finally:
            point_at(*saved)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "HTTP 403" in err[0] and "client" in err[0]
    assert "the-real-secret" not in err[0]


def test_what_counts_as_an_outage() -> None:
    def http(status: int) -> twitchio.HTTPException:
        return twitchio.HTTPException("x", status=status, extra={"message": ""})

    assert is_transient(ConnectionRefusedError()) and is_transient(TimeoutError())
    assert is_transient(aiohttp.ServerDisconnectedError())
    assert is_transient(http(503)) and is_transient(http(429))
    assert not is_transient(http(401)) and not is_transient(http(403))
    assert not is_transient(KeyError("payload")) and not is_transient(ValueError())


async def test_a_later_outage_is_twitchios_reconnect_not_an_exit(tmp_path: Path) -> None:
    """Sockets that drop after start are TwitchIO's business: no restart, no exit."""
    async with TwitchSim() as sim:
        config = sim_config(sim, tmp_path)
        async with daemon_on_sim(sim, config) as run:
            await sim.drop_sockets()
            await sim.wait_until(lambda: len(sim.live_sessions) == 2, timeout=20)
            await sim.wait_until(lambda: len(sim.subscriptions) >= 4, timeout=20)
            await sim.chat("alice", "!tts still on")
            await run.wait(logs.TTS_ACCEPTED)
            assert not run.of("twitch.failed") and len(run.of(logs.BOT_READY)) == 1
