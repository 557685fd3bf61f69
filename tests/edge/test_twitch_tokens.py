"""Refreshed Twitch tokens reach `twitch.tokens_file`, through TwitchIO's public API.

The real daemon and the real TwitchIO bot against the simulator: every access
token expires mid-stream and the EventSub sockets drop; the bot refreshes,
resubscribes, chat goes on, and the file holds the new tokens (mode 0600)
at once and after stop.
"""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from streamer_tts import logs
from streamer_tts.twitch.tokens import read_tokens, write_tokens
from streamer_tts.twitch_sim import TwitchSim
from tests.edge.twitch_rig import daemon_on_sim, sim_config

pytestmark = pytest.mark.timeout(90)


def file_tokens(path: Path) -> dict[str, tuple[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {uid: (entry["token"], entry["refresh"]) for uid, entry in data.items()}


async def test_expired_tokens_and_dropped_sockets_are_refreshed_and_saved(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with TwitchSim() as sim:
        config = sim_config(sim, tmp_path)
        tokens = Path(config.twitch.tokens_file)  # type: ignore[union-attr]
        before = file_tokens(tokens)
        ids = {sim.bot.id, sim.broadcaster.id}
        assert set(before) == ids
        async with daemon_on_sim(sim, config) as run:
            await sim.chat("alice", "!tts before")
            await run.wait(logs.TTS_ACCEPTED, 1)
            subscribed = len(sim.subscriptions)
            assert sim.expire_tokens() >= 3  # the app's, the bot's, the broadcaster's
            assert all(not sim.is_valid_token(access) for access, _ in before.values())
            assert await sim.drop_sockets() == 2  # the bot's socket and the broadcaster's
            await sim.wait_until(lambda: len(sim.subscriptions) == subscribed, timeout=20)
            # saved at the refresh, not only at stop
            await sim.wait_until(
                lambda: all(sim.is_valid_token(t) for t, _ in file_tokens(tokens).values()),
                timeout=10,
            )
            await sim.chat("bob", "!tts after the refresh")
            await run.wait(logs.TTS_ACCEPTED, 2)
        grants = [r.query.get("grant_type") for r in sim.requests if r.path == "/oauth2/token"]
        assert grants.count(["refresh_token"]) >= 2
        after = file_tokens(tokens)
        assert set(after) == ids
        for uid, (access, refresh) in after.items():
            assert sim.is_valid_token(access), uid
            assert access != before[uid][0] and refresh == before[uid][1]
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    assert [p.name for p in tokens.parent.iterdir() if p.name.endswith(".tmp")] == []
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == []  # no "twitch listener failed", no failed save


async def test_a_refused_token_stays_in_the_file(tmp_path: Path) -> None:
    """The broadcaster's token is dead: chat still runs on the bot's, and the
    file keeps the dead entry as it was for `make auth` to replace."""
    async with TwitchSim() as sim:
        config = sim_config(sim, tmp_path)
        tokens = Path(config.twitch.tokens_file)  # type: ignore[union-attr]
        data = json.loads(tokens.read_text())
        data[sim.broadcaster.id]["token"] = "dead-access"
        data[sim.broadcaster.id]["refresh"] = "dead-refresh"
        tokens.write_text(json.dumps(data))
        async with daemon_on_sim(sim, config) as run:
            await sim.chat("alice", "!tts still here")
            await run.wait(logs.TTS_ACCEPTED, 1)
    kept = file_tokens(tokens)
    assert kept[sim.broadcaster.id] == ("dead-access", "dead-refresh")
    assert sim.is_valid_token(kept[sim.bot.id][0])


def test_read_tokens_takes_good_entries_and_names_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    assert read_tokens(path) == ({}, None)
    path.write_text("{not json")
    entries, problem = read_tokens(path)
    assert entries == {} and problem is not None and str(path) in problem
    write_tokens(path, {"1": {"user_id": "1", "token": "a", "refresh": "b"}, "2": {"x": 1}})
    entries, problem = read_tokens(path)
    assert problem is None and list(entries) == ["1"]
    assert entries["1"] == {"user_id": "1", "token": "a", "refresh": "b", "last_validated": ""}
