"""Mods teach the voice live, through real chat: the real TwitchIO bot in the
real daemon against the local Twitch simulator. `!ttssay` and `!ttsnick`
change what is spoken, read-all chat reads plain lines, and the edits are
still there after the daemon restarts on the same state directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from streamer_tts import logs
from streamer_tts.twitch_sim import TwitchSim
from tests.edge.twitch_rig import daemon_on_sim, sim_config

pytestmark = pytest.mark.timeout(120)

ALWAYS = {"read_usernames": "always"}


async def test_say_and_nick_change_what_is_spoken_and_survive_a_restart(
    tmp_path: Path,
) -> None:
    async with TwitchSim() as sim:
        sim.moderators.add("mod")
        config = sim_config(sim, tmp_path, sources=ALWAYS)
        async with daemon_on_sim(sim, config) as run:
            await sim.chat("mod", "!ttssay XQC ex queue see")
            await run.wait(logs.TTS_CONTROL, action="say")
            await sim.chat("mod", "!ttsnick @alice Princess [[ ˈæ ]] Al")
            await run.wait(logs.TTS_CONTROL, action="nick")
            await sim.chat("viewer", "!ttssay gg bad")  # not a moderator
            await run.wait(logs.TTS_REJECTED, reason="not_allowed")
            await sim.chat("alice", "!tts watching xqc now, not xqcow")
            await run.wait(logs.TTS_FINISHED)
            await run.idle()
        first = run.of(logs.TTS_STARTED)[0]["text"]
        shown = run.of(logs.TTS_ACCEPTED)[0]
        assert first == "Princess Al says: watching ex queue see now, not xqcow"
        assert shown["user"] == "alice"

        async with daemon_on_sim(sim, config) as run:  # same state dir: a restart
            await sim.chat("alice", "!tts xqc again")
            await run.wait(logs.TTS_FINISHED)
            await sim.chat("mod", "!ttsunsay xqc")
            await sim.chat("mod", "!ttsnick alice reset")
            await run.wait(logs.TTS_CONTROL, 2)
            await sim.chat("alice", "!tts xqc once more")
            await run.wait(logs.TTS_FINISHED, 2)
        texts = [e["text"] for e in run.of(logs.TTS_STARTED)]
        assert texts == ["Princess Al says: ex queue see again", "alice says: xqc once more"]


async def test_self_nick_when_allowed(tmp_path: Path) -> None:
    async with TwitchSim() as sim:
        config = sim_config(sim, tmp_path, sources=ALWAYS, nicknames={"self": True})
        async with daemon_on_sim(sim, config) as run:
            await sim.chat("bob", "!nick <b>Bobby</b> B")
            await run.wait(logs.TTS_CONTROL, action="self_nick")
            await sim.chat("bob", "!tts hello")
            await run.wait(logs.TTS_FINISHED)
    assert run.of(logs.TTS_STARTED)[0]["text"] == "Bobby B says: hello"


async def test_read_all_chat(tmp_path: Path) -> None:
    async with TwitchSim() as sim:
        config = sim_config(
            sim, tmp_path, sources={**ALWAYS, "chat": {"mode": "all", "roles": ["everyone"]}}
        )
        async with daemon_on_sim(sim, config) as run:
            await sim.chat("gina", "just chatting, no command")
            await sim.chat("gina", "!discord")  # a command: never read
            await sim.chat("nightbot", "I am a bot")  # ignore_users
            await sim.chat("hank", "!tts with the command too")
            await run.wait(logs.TTS_FINISHED, 2)
            await run.idle()
    texts = sorted(e["text"] for e in run.of(logs.TTS_STARTED))
    assert texts == ["gina says: just chatting, no command", "hank says: with the command too"]
    assert run.of(logs.TTS_REJECTED, reason="ignored_user")
