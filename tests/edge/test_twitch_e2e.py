"""The real TwitchIO bot inside the real daemon, against the local Twitch simulator.

Every source reaches the speaker in priority order with the expected text;
permissions; a cheer seen twice is read once; moderation drops; reconnect
without loss; bad payloads ignored; tokens and scopes checked at start.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from streamer_tts import logs
from streamer_tts.daemon import serve
from streamer_tts.twitch_sim import TwitchSim
from tests.edge.twitch_rig import daemon_on_sim, sim_config
from tests.fakes.tone_engine import ToneEngine

pytestmark = pytest.mark.timeout(90)


async def test_every_source_in_priority_order_with_its_text(tmp_path: Path) -> None:
    async with TwitchSim() as sim:
        config = sim_config(sim, tmp_path)
        async with daemon_on_sim(sim, config) as run:
            await sim.chat("streamer", "!ttspause")
            await run.wait("tts.control", action="pause")
            steps = [
                sim.chat("alice", "!tts hello from chat"),
                sim.cheer("bob", 100, "Cheer100 small one"),
                sim.cheer("whale", 1000, "Cheer1000 big one"),
                sim.resub("carol", 12, "a whole year"),
                sim.community_gift("dave", 5),
                sim.redeem("erin", "TTS", "points talk"),
                sim.raid("frank", 42),
            ]
            for n, step in enumerate(steps, 1):  # one at a time: arrival order is FIFO order
                await step
                await run.wait(logs.TTS_ACCEPTED, n)
            await sim.chat("gina", "just chatting, no command")
            await sim.chat("streamer", "!ttsresume")
            await run.wait(logs.TTS_FINISHED, 7)
    started = run.of(logs.TTS_STARTED)
    order = [e["user"] for e in started]
    assert order == ["whale", "carol", "dave", "bob", "erin", "frank", "alice"], order
    texts = {e["user"]: e["text"] for e in started}
    assert texts["whale"] == "whale cheered 1000 bits: big one"
    assert texts["carol"] == "carol subscribed for 12 months: a whole year"
    assert texts["dave"] == "dave gifted 5 subs"
    assert texts["erin"] == "erin says: points talk"
    assert texts["frank"] == "frank is raiding with 42 viewers"
    assert texts["alice"].endswith("hello from chat")
    sources = {e["user"]: e["source"] for e in run.of(logs.TTS_ACCEPTED)}
    assert sources == {
        "alice": "chat",
        "bob": "cheer",
        "whale": "cheer",
        "carol": "subscription",
        "dave": "gift",
        "erin": "redemption",
        "frank": "raid",
    }


async def test_permissions_skip_own_and_queue_reply(tmp_path: Path) -> None:
    async with TwitchSim() as sim:
        config = sim_config(sim, tmp_path, commands__replies=True)
        slow = [ToneEngine(seconds_per_char=0.1)]
        async with daemon_on_sim(sim, config, engines=slow) as run:
            await sim.chat("alice", "!tts a long message that alice will skip herself")
            await run.wait(logs.TTS_STARTED)
            await sim.chat("bob", "!skip")
            await run.wait(logs.TTS_REJECTED, reason="not_allowed")
            await sim.chat("bob", "!ttsqueue")
            await sim.wait_sent_chat(1)
            await sim.chat("alice", "!skip")
            skipped = await run.wait(logs.TTS_SKIPPED)
            await sim.chat("bob", "!ttsclear")
            await run.wait(logs.TTS_REJECTED, 2, reason="not_allowed")
    assert skipped[0]["by"] == "alice"
    assert any("waiting" in m["message"] for m in sim.sent_chat)


async def test_cheer_seen_twice_is_read_once(tmp_path: Path) -> None:
    async with TwitchSim() as sim:
        config = sim_config(sim, tmp_path, twitch__eventsub_money=True)
        async with daemon_on_sim(sim, config) as run:
            await sim.wait_subscribed(["channel.cheer"])
            await sim.cheer("bob", 500, "Cheer500 once please")  # chat + channel.cheer
            await run.wait(logs.TTS_REJECTED, reason="duplicate")
            last = next(
                m
                for m in reversed(sim.delivered)
                if m["metadata"]["subscription_type"] == "channel.cheer"
            )
            await sim.send_raw(
                "channel.cheer", last["payload"]["event"], message_id=last["metadata"]["message_id"]
            )  # redelivery
            await run.wait(logs.TTS_REJECTED, 2, reason="duplicate")
            await run.idle()
    assert len(run.of(logs.TTS_ACCEPTED)) == 1
    assert len(run.of(logs.TTS_FINISHED)) == 1


async def test_moderation_drops_and_skips(tmp_path: Path) -> None:
    async with TwitchSim() as sim:
        config = sim_config(sim, tmp_path)
        async with daemon_on_sim(sim, config) as run:
            await sim.chat("streamer", "!ttspause")
            await run.wait("tts.control", action="pause")
            await sim.chat("alice", "!tts keep me")
            bad = await sim.chat("troll", "!tts delete me")
            await sim.chat("spammer", "!tts time me out")
            await sim.chat("spammer", "!tts and me")
            await run.wait(logs.TTS_ACCEPTED, 4)
            await sim.delete_message(bad["message_id"])
            await sim.clear_user("spammer")
            await run.wait(logs.TTS_DROPPED, 3)
            await sim.chat("streamer", "!ttsresume")
            await run.wait(logs.TTS_FINISHED)
            await run.idle()
    assert [e["user"] for e in run.of(logs.TTS_STARTED)] == ["alice"]
    assert {e["reason"] for e in run.of(logs.TTS_DROPPED)} == {"deleted", "timeout or ban"}


async def test_reconnect_mid_stream_loses_nothing(tmp_path: Path) -> None:
    async with TwitchSim() as sim:
        config = sim_config(sim, tmp_path)
        async with daemon_on_sim(sim, config) as run:
            for i in range(3):
                await sim.chat(f"user{i}", f"!tts before {i}")
            await sim.reconnect()
            await sim.wait_until(lambda: len(sim.live_sessions) >= 1, 10)
            await asyncio.sleep(0.5)
            for i in range(3, 6):
                await sim.chat(f"user{i}", f"!tts after {i}")
            await run.wait(logs.TTS_FINISHED, 6)
    assert [e["user"] for e in run.of(logs.TTS_STARTED)] == [f"user{i}" for i in range(6)]


async def test_bad_payloads_are_logged_and_ignored(tmp_path: Path) -> None:
    async with TwitchSim() as sim:
        config = sim_config(sim, tmp_path)
        async with daemon_on_sim(sim, config) as run:
            good = await sim.chat("alice", "!tts first")
            broken = dict(good)
            broken["message_id"] = "broken-1"
            broken["cheer"] = {"bits": "lots"}  # wrong type
            await sim.send_raw("channel.chat.message", broken)
            huge = dict(good)
            huge["message_id"] = "huge-1"
            huge["message"] = {"text": "!tts " + "spam " * 20_000, "fragments": []}
            await sim.send_raw("channel.chat.message", huge)
            await sim.send_raw("channel.made.up", {"anything": 1})
            await sim.chat("bob", "!tts still alive")
            await run.wait(logs.TTS_FINISHED, 3)
    users = [e["user"] for e in run.of(logs.TTS_ACCEPTED)]
    assert users[0] == "alice" and users[-1] == "bob"
    long_text = next(e for e in run.of(logs.TTS_ACCEPTED) if e["id"] == "huge-1")["text"]
    assert len(long_text) <= 320


async def test_missing_token_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with TwitchSim() as sim:
        tokens = tmp_path / "tokens.json"
        sim.write_tokens_file(tokens, logins=[sim.broadcaster.login])  # no bot token
        config = sim_config(sim, tmp_path)
        code = await serve(config, journal=False)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "bot account" in err[0] and "make auth" in err[0]


async def test_auth_stores_tokens_0600(tmp_path: Path) -> None:
    import aiohttp

    from streamer_tts.auth import _auth

    async with TwitchSim() as sim:
        config = sim_config(sim, tmp_path)
        tokens = Path(config.twitch.tokens_file)  # type: ignore[union-attr]
        tokens.unlink()
        port = 43_000 + os.getpid() % 1000
        task = asyncio.create_task(_auth(config, port, want_broadcaster=False, timeout_s=20))
        await asyncio.sleep(0.5)
        async with aiohttp.ClientSession() as http:
            url = (
                f"http://localhost:{port}/oauth?force_verify=true&scopes=user:read:chat%20user:bot"
            )
            async with http.get(url) as resp:
                assert resp.status == 200
        assert await asyncio.wait_for(task, 20) == 0
    assert tokens.stat().st_mode & 0o777 == 0o600
    assert sim.bot.id in tokens.read_text()
