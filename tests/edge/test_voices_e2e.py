"""Voices end to end: the real bot against the Twitch simulator, the real daemon,
the real espeak-ng for the `robot` alias (the tone engine stands in for Piper).

A viewer's `!voice robot` makes their next `!tts` espeak's, and the choice
survives a restart of the daemon (the journal keeps it).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from streamer_tts import logs
from streamer_tts.twitch_sim import TwitchSim
from tests.edge.twitch_rig import daemon_on_sim, sim_config
from tests.fakes.tone_engine import ToneEngine

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed"),
]

VOICES: dict[str, Any] = {
    "default": "joe",
    "aliases": {
        "joe": {"engine": "piper"},
        "robot": {"engine": "espeak", "voice": "en-us", "rate": 170},
        "aria": {"engine": "azure", "voice": "en-US-AriaNeural"},  # no key: unavailable
        "posh": {"engine": "espeak", "voice": "en-gb", "gain_db": -3},
    },
    "allow": {"everyone": ["joe", "robot", "aria"], "subscriber": "all"},
}


def tone_piper() -> list[Any]:
    return [ToneEngine(name="piper", seconds_per_char=0.01)]


async def test_voice_command_picks_espeak_and_survives_a_restart(tmp_path: Path) -> None:
    async with TwitchSim() as sim:
        config = sim_config(sim, tmp_path, voices=VOICES, commands__replies=True)
        async with daemon_on_sim(sim, config, engines=tone_piper()) as run:
            unavailable = run.of("voice.unavailable")
            assert [(e["voice"], e["engine"]) for e in unavailable] == [("aria", "azure")]
            await sim.chat("alice", "!tts before choosing")
            await run.wait(logs.TTS_FINISHED)
            await sim.chat("alice", "!voice robot")
            await run.wait(logs.TTS_CONTROL, action="voice", target="alice")
            await sim.chat("alice", "!tts beep boop from the robot")
            await run.wait(logs.TTS_FINISHED, 2)
            await sim.chat("bob", "!voice posh")  # a subscriber's voice
            await run.wait(logs.TTS_REJECTED, reason="not_allowed")
            await sim.chat("bob", "!voice aria")  # its engine could not start
            await run.wait(logs.TTS_REJECTED, 2, reason="not_allowed")
            await sim.chat("bob", "!voice")
            await sim.wait_sent_chat(4)
        started = run.of(logs.TTS_STARTED)
        assert [(e["engine"], e["voice"]) for e in started] == [
            ("piper", "joe"),
            ("espeak", "robot"),
        ]
        accepted = run.of(logs.TTS_ACCEPTED)
        assert [e["voice"] for e in accepted] == ["joe", "robot"]
        said = [m["message"] for m in sim.sent_chat]
        assert any("voice of alice: robot" in m for m in said), said
        assert any("posh is not yours" in m for m in said), said
        assert any("aria is unavailable" in m for m in said), said
        assert any("voices you may use: joe, robot" in m for m in said), said

        async with daemon_on_sim(sim, config, engines=tone_piper()) as run:
            await sim.chat("streamer", "!ttspause")
            await run.wait(logs.TTS_CONTROL, action="pause")
            await sim.chat("alice", "!tts still a robot after the restart")
            await sim.chat("carol", "!tts and I am not")
            await run.wait(logs.TTS_ACCEPTED, 2)
            rows = run.daemon.conductor.snapshot()["queue"]  # what the dashboard shows
            assert [(r["user"], r["voice"]) for r in rows] == [("alice", "robot"), ("carol", "joe")]
            await sim.chat("streamer", "!ttsresume")
            await run.wait(logs.TTS_FINISHED, 2)
            mod = await sim.chat("streamer", "!ttsvoice alice reset")
            assert mod is not None
            await run.wait(logs.TTS_CONTROL, action="ttsvoice", target="alice")
            await sim.chat("alice", "!tts back to joe")
            await run.wait(logs.TTS_FINISHED, 3)
        voices = {(e["user"], e["voice"], e["engine"]) for e in run.of(logs.TTS_STARTED)}
        assert voices == {
            ("alice", "robot", "espeak"),
            ("carol", "joe", "piper"),
            ("alice", "joe", "piper"),
        }


async def test_by_language_routes_a_viewer_without_a_choice(tmp_path: Path) -> None:
    voices = {**VOICES, "by_language": {"de": "robot"}}
    async with TwitchSim() as sim:
        config = sim_config(sim, tmp_path, voices=voices)
        async with daemon_on_sim(sim, config, engines=tone_piper()) as run:
            await sim.chat("hans", "!tts Hallo zusammen, wie geht es euch heute so?")
            await sim.chat("amy", "!tts hello everyone, how is the stream going today?")
            await sim.chat("amy", "!voice joe")
            await run.wait(logs.TTS_CONTROL, action="voice")
            await sim.chat("amy", "!tts Guten Abend, ich habe meine eigene Stimme gewählt")
            await sim.chat("kim", "!tts ok")  # too short to tell: the default
            await run.wait(logs.TTS_FINISHED, 4)
            # a reload that adds an alias: it speaks only after a restart
            aliases = {**VOICES["aliases"], "new": {"engine": "espeak", "rate": 300}}
            run.daemon.reload(sim_config(sim, tmp_path, voices={**voices, "aliases": aliases}))
            reloaded = await run.wait("config.reloaded")
            assert "voices" in reloaded[0]["restart_needed_for"]
            await sim.chat("kim", "!voice new")
            refused = await run.wait(logs.TTS_REJECTED, reason="not_allowed")
    voices_of = [(e["user"], e["voice"], e["engine"]) for e in run.of(logs.TTS_STARTED)]
    assert voices_of == [
        ("hans", "robot", "espeak"),
        ("amy", "joe", "piper"),
        ("amy", "joe", "piper"),  # her own choice wins over the language
        ("kim", "joe", "piper"),
    ]
    assert refused[0]["user"] == "kim"
