"""Mods in control with the real bot against the Twitch simulator: the hold,
approval by chat command, and a deletion while a message is held."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from streamer_tts import logs
from streamer_tts.twitch_sim import TwitchSim
from tests.edge.twitch_rig import daemon_on_sim, sim_config

pytestmark = pytest.mark.timeout(90)

HOLD_S = 2.0


async def test_a_message_deleted_during_the_hold_is_never_heard(tmp_path: Path) -> None:
    async with TwitchSim() as sim:
        config = sim_config(sim, tmp_path, moderation__hold_seconds=HOLD_S)
        async with daemon_on_sim(sim, config) as run:
            await sim.chat("alice", "!tts keep me")
            bad = await sim.chat("troll", "!tts delete me")
            await run.wait(logs.TTS_ACCEPTED, 2)
            accepted_at = time.monotonic()
            snap = run.daemon.conductor.snapshot()
            assert [r["user"] for r in snap["queue"]] == ["alice", "troll"]
            assert all(0 < r["hold_s"] <= HOLD_S for r in snap["queue"])
            await sim.delete_message(bad["message_id"])
            await run.wait(logs.TTS_DROPPED, reason="deleted")
            assert not run.of(logs.TTS_STARTED)  # still held
            await run.wait(logs.TTS_FINISHED)
            # the hold ran from acceptance, which was logged a little after it
            assert time.monotonic() - accepted_at >= HOLD_S - 0.5
            await run.idle()
    assert [e["user"] for e in run.of(logs.TTS_STARTED)] == ["alice"]


async def test_ttsok_and_ttsno_in_chat(tmp_path: Path) -> None:
    async with TwitchSim() as sim:
        config = sim_config(
            sim,
            tmp_path,
            moderation__approval={"chat": ["everyone"]},
            commands__replies=True,
        )
        async with daemon_on_sim(sim, config) as run:
            await sim.chat("alice", "!tts first, approved by number")
            await sim.chat("bob", "!tts second, rejected by name")
            await sim.chat("carol", "!tts third, approved by name")
            await sim.chat("dave", "!tts fourth, deleted while waiting")
            held = await run.wait(logs.TTS_HELD, 4)
            assert [e["user"] for e in held] == ["alice", "bob", "carol", "dave"]
            await run.wait(logs.TTS_ACCEPTED, 4)
            await sim.chat("erin", "!ttsok 1")  # not a moderator
            await run.wait(logs.TTS_REJECTED, reason="not_allowed")
            await sim.chat("streamer", "!ttsqueue")
            await sim.wait_until(
                lambda: any("awaiting approval: #1 alice" in m["message"] for m in sim.sent_chat),
                10,
            )
            await sim.chat("streamer", "!ttsok 1")
            await run.wait(logs.TTS_APPROVED)
            await sim.chat("streamer", "!ttsno @bob")
            await run.wait(logs.TTS_DROPPED, reason="rejected")
            dave = next(e for e in held if e["user"] == "dave")
            await sim.delete_message(dave["id"])
            await run.wait(logs.TTS_DROPPED, reason="deleted")
            await sim.chat("streamer", "!ttsok carol")
            await run.wait(logs.TTS_APPROVED, 2)
            await sim.chat("streamer", "!ttsok 9")  # nothing there: said in chat
            await sim.wait_until(
                lambda: any("no such message" in m["message"] for m in sim.sent_chat), 10
            )
            await run.wait(logs.TTS_FINISHED, 2)
            await run.idle()
    assert [e["user"] for e in run.of(logs.TTS_STARTED)] == ["alice", "carol"]
    assert all(e["by"] == "streamer" for e in run.of(logs.TTS_APPROVED))
