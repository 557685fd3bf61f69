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
