"""The daemon as a service: SIGTERM within the bound, SIGHUP reload, restart restores."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
import yaml

from streamer_tts.twitch_sim import TwitchSim
from tests.edge.daemon_proc import read_log, spawn_daemon, start_daemon, write_config
from tests.fakes import cartesia_server
from tests.fakes.cartesia_server import FakeCartesiaServer

pytestmark = pytest.mark.timeout(120)


async def wait_for_event(
    log: Path, name: str, count: int = 1, timeout_s: float = 20, poll_s: float = 0.05, **match
):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [
            r
            for r in read_log(log)
            if r["event"] == name and all(r.get(k) == v for k, v in match.items())
        ]
        if len(found) >= count:
            return found
        await asyncio.sleep(poll_s)
    raise AssertionError(f"no {name} {match} in the log")


async def stop_while_a_long_paid_message_sounds(
    tmp_path: Path, sim: TwitchSim, cart: FakeCartesiaServer, log: Path
) -> tuple[Path, int, float]:
    """Start the daemon, cheer ~16 s of speech, SIGTERM it once that sounds:
    (its config, its exit code, seconds from the signal to the exit)."""
    config = write_config(tmp_path, sim, cart, 0)  # 60 ms a character: a long message
    proc = await start_daemon(config, log, ready_before=0)
    await sim.cheer("whale", 1000, "Cheer1000 " + "a very long thank you " * 12)
    await wait_for_event(log, "tts.started")
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(proc.wait(), 15)
    return config, code, time.monotonic() - t0


async def test_sigterm_with_a_long_message_exits_within_the_bound(tmp_path: Path) -> None:
    log = tmp_path / "events.log"
    async with TwitchSim() as sim, FakeCartesiaServer() as cart:
        # a stop that waited for the message would far exceed the bound
        config, code, took_s = await stop_while_a_long_paid_message_sounds(tmp_path, sim, cart, log)
        assert code == 0
        # stop_grace_seconds is 1 in this config; closing sockets and the journal
        # takes the rest (generous: a loaded 2-core machine is slow to exit)
        assert took_s < 1.0 + 6.0, took_s
        assert read_log(log)[-1]["event"] == "daemon.stopped"
        # the cut paid message is read again, whole, at the next start
        proc = await start_daemon(config, log, ready_before=1)
        restored = await wait_for_event(log, "tts.restored")
        assert len(restored[0]["ids"]) == 1
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0


async def test_sigterm_while_starting_stops_in_order_and_keeps_the_paid_message(
    tmp_path: Path,
) -> None:
    """systemd may stop (or reload) the daemon before it is ready: the stop
    waits for the start to finish, never kills it half-way, and loses nothing
    paid; the reload is done once started."""
    log = tmp_path / "events.log"
    async with TwitchSim() as sim, FakeCartesiaServer() as cart:
        config, code, _ = await stop_while_a_long_paid_message_sounds(tmp_path, sim, cart, log)
        assert code == 0
        paid = (await wait_for_event(log, "tts.accepted"))[0]["id"]
        for start in (1, 2):  # stopped while starting, then started again
            proc = await spawn_daemon(config, tmp_path / f"start-{start}.err")
            restored = await wait_for_event(
                log, "tts.restored", count=start, timeout_s=30, poll_s=0.005
            )
            assert restored[-1]["ids"] == [paid]
            if start == 2:  # a reload asked for while starting is done once started
                proc.send_signal(signal.SIGHUP)
                await wait_for_event(log, "config.reloaded", timeout_s=30)
            proc.send_signal(signal.SIGTERM)  # within ms: Twitch is not even connected yet
            assert await asyncio.wait_for(proc.wait(), 30) == 0, (
                tmp_path / f"start-{start}.err"
            ).read_text()[-2000:]
            assert read_log(log)[-1]["event"] == "daemon.stopped"


async def test_sighup_reloads_good_config_and_refuses_bad(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cartesia_server, "MS_PER_CHAR", 4)
    log = tmp_path / "events.log"
    async with TwitchSim() as sim, FakeCartesiaServer() as cart:
        config = write_config(tmp_path, sim, cart, 0)
        proc = await start_daemon(config, log, ready_before=0)
        await sim.chat("alice", "!tts darn it")
        await wait_for_event(log, "tts.finished")

        data = yaml.safe_load(config.read_text())
        data["filters"] = {"banned_words": ["darn"], "banned_words_action": "drop"}
        config.write_text(yaml.safe_dump(data))
        proc.send_signal(signal.SIGHUP)
        await wait_for_event(log, "config.reloaded")
        await sim.chat("bob", "!tts darn it again")
        await wait_for_event(log, "tts.rejected", reason="banned_word")

        data["filters"] = {"banned_wordz": ["oops"]}  # a typo: refused, old rules kept
        config.write_text(yaml.safe_dump(data))
        proc.send_signal(signal.SIGHUP)
        rejected = await wait_for_event(log, "config.rejected")
        assert "banned_wordz" in rejected[0]["problem"]
        await sim.chat("carol", "!tts darn once more")
        await wait_for_event(log, "tts.rejected", 2, reason="banned_word")
        assert proc.returncode is None  # still running
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0


async def test_bad_state_dir_is_one_clear_line(tmp_path: Path) -> None:
    log = tmp_path / "events.log"
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    async with TwitchSim() as sim, FakeCartesiaServer() as cart:
        config = write_config(tmp_path, sim, cart, 0, daemon={"state_dir": str(blocker / "state")})
        with pytest.raises(AssertionError) as failed:
            await start_daemon(config, log, ready_before=0)
    message = str(failed.value)
    assert "exit 2" in message and "Traceback" not in message
    assert str(blocker) in message
