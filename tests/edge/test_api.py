"""The control API on loopback: token, origin, size, every message type, retries, load."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streamer_tts import logs
from streamer_tts.journal import Journal
from tests.edge.api_rig import Api, running_api

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(tmp_path) as api:
        yield api


async def test_token_origin_and_size_are_checked(api: Api, tmp_path: Path) -> None:
    token_file = tmp_path / "state" / "api-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    async with aiohttp.ClientSession() as http:
        donation = {"donor_name": "JohnDoe", "amount": 25.0, "message": "Great stream!"}
        async with http.post(f"{api.url}/api/donation", json=donation) as r:
            assert r.status == 401
        async with http.post(
            f"{api.url}/api/donation", json=donation, headers={"Authorization": "Bearer wrong"}
        ) as r:
            assert r.status == 401
        evil = {**api.auth, "Origin": "https://evil.example"}
        async with http.post(f"{api.url}/api/skip", headers=evil) as r:
            assert r.status == 403
        async with http.post(
            f"{api.url}/api/donation", headers=api.auth, data=b"{" + b" " * 40_000 + b"}"
        ) as r:
            assert r.status == 413
        async with http.get(f"{api.url}/api/queue", headers=api.auth) as r:
            assert r.status == 200 and (await r.json())["queue"] == []
    assert api.daemon.admission.queue.depth() == {p: 0 for p in api.daemon.admission.queue.depth()}


async def test_bad_bodies_get_400_with_the_field(api: Api) -> None:
    async with aiohttp.ClientSession(headers=api.auth) as http:
        async with http.post(f"{api.url}/api/donation", data=b"not json") as r:
            assert r.status == 400 and "JSON" in (await r.json())["error"]
        async with http.post(
            f"{api.url}/api/donation", json={"donor_name": "x", "amount": "lots"}
        ) as r:
            body = await r.json()
            assert r.status == 400 and body["error"].startswith("amount")
        async with http.post(f"{api.url}/api/donation", json={"amount": 5}) as r:
            assert r.status == 400 and "donor_name" in (await r.json())["error"]
        async with http.post(f"{api.url}/api/dance", json={}) as r:
            assert r.status == 400 and "type" in (await r.json())["error"]
        async with http.post(f"{api.url}/api/tts", json=[1, 2]) as r:
            assert r.status == 400
        async with http.post(f"{api.url}/api/tts", json={"text": "still alive"}) as r:
            assert (await r.json())["ok"] is True


async def test_websocket_every_message_type_and_event_stream(api: Api) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{api.url}/ws?token={api.token}") as ws,
    ):
        events: list[str] = []

        async def say(msg: Any) -> dict[str, Any]:
            await ws.send_json(msg) if not isinstance(msg, str) else await ws.send_str(msg)
            while True:
                reply = await asyncio.wait_for(ws.receive_json(), 10)
                if reply.get("type") != "event":
                    return reply
                events.append(reply["event"])

        assert (await say({"type": "subscribe"}))["subscribed"]
        assert (await say({"type": "pause"}))["ok"]
        donation = {
            "type": "donation",
            "donor_name": "JohnDoe",
            "amount": 25.0,
            "message": "Great stream!",
        }
        first = await say(donation)
        assert first["ok"] and first["priority"] == "urgent"
        again = await say({**donation, "id": "bridge-1"})
        assert again["ok"]
        retried = await say({**donation, "id": "bridge-1"})
        assert retried == {"ok": True, "id": "api:bridge-1", "duplicate": True}
        small = await say({**donation, "amount": 0.5, "id": "tiny"})
        assert small["ok"] is False and small["error"] == "too_few_bits"
        assert (await say({"type": "tts", "text": "hello from a tool", "priority": "high"}))["ok"]
        queue = await say({"type": "queue"})
        assert [m["priority"] for m in queue["queue"]] == ["urgent", "urgent", "high"]
        assert (await say({"type": "ban", "user": "Troll"}))["action"] == "ban"
        assert (await say({"type": "unban", "user": "troll"}))["action"] == "unban"
        assert (await say({"type": "clear"}))["ok"]
        assert (await say("{not json"))["ok"] is False
        assert (await say({"type": "tts"}))["error"].startswith("text")
        assert (await say({"type": "resume"}))["ok"]
        while "tts.finished" not in events:
            msg = await asyncio.wait_for(ws.receive_json(), 10)
            if msg.get("type") == "event":
                events.append(msg["event"])
        assert "tts.accepted" in events and "tts.started" in events
        assert (await say({"type": "skip"}))["ok"]


def _journal_ids(state_dir: Path) -> list[str]:
    db = sqlite3.connect(f"file:{state_dir / 'journal.sqlite3'}?mode=ro", uri=True)
    try:
        return [row[0] for row in db.execute("SELECT id FROM messages WHERE source = 'api'")]
    finally:
        db.close()


async def test_200_clients_10000_donations_none_lost_none_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, report: Callable[[str], None]
) -> None:
    # the journal keeps every ended message here (it prunes at 1,000), so each
    # acceptance can be checked against it once the daemon has stopped
    open_journal = Journal.open
    monkeypatch.setattr(
        Journal, "open", lambda state_dir, **kw: open_journal(state_dir, history_max=100_000, **kw)
    )
    seen: list[str] = []
    remove = logs.add_listener(
        lambda r: seen.append(r["id"]) if r["event"] == "tts.accepted" else None
    )

    async def client(n: int, http: aiohttp.ClientSession) -> list[dict[str, Any]]:
        replies = []
        url, token = api.url, api.token
        async with http.ws_connect(f"{url}/ws?token={token}") as ws:
            for k in range(50):
                await ws.send_json(
                    {
                        "type": "donation",
                        "donor_name": f"fan{n}",
                        "amount": 1.0 + (k % 20),
                        "message": f"tip {k}",
                        "id": f"c{n}-{k}",
                    }
                )
                replies.append(await asyncio.wait_for(ws.receive_json(), 30))
        return replies

    try:
        async with running_api(tmp_path) as api, aiohttp.ClientSession() as http:
            max_size = api.daemon.config.queue.max_size
            results = await asyncio.gather(*(client(n, http) for n in range(200)))
    finally:
        remove()
    replies = [r for batch in results for r in batch]
    accepted = [r["id"] for r in replies if r["ok"] and not r.get("duplicate")]
    rejected = [r for r in replies if not r["ok"]]
    assert len(replies) == 10_000
    assert len(accepted) + len(rejected) == 10_000  # every reply is one or the other
    # Every donation is paid (1.00 = 100 bits reaches the lowest tier), has its
    # own id and is exempt from the rate limits: the only refusal allowed is a
    # full queue, and the queue starts empty, so at least `max_size` get in.
    assert {r["error"] for r in rejected} <= {"queue_full"}
    assert len(accepted) >= max_size
    # each acceptance is in the journal exactly once, and nothing else is
    journal = _journal_ids(tmp_path / "state")
    assert len(journal) == len(set(journal))
    assert sorted(journal) == sorted(accepted)
    assert sorted(seen) == sorted(accepted)  # announced once each
    report(
        f"api load: 200 clients, 10000 donations, {len(accepted)} accepted "
        f"(bound >= {max_size}), {len(rejected)} rejected (queue_full), "
        "each acceptance once in the journal"
    )


async def test_metrics_and_stats_table(api: Api) -> None:
    from streamer_tts.api.stats import stats_table

    async with aiohttp.ClientSession(headers=api.auth) as http:
        await http.post(f"{api.url}/api/donation", json={"donor_name": "a", "amount": 10.0})
        await http.post(f"{api.url}/api/donation", json={"donor_name": "b", "amount": 0.1})
        await http.post(f"{api.url}/api/tts", json={"text": "tone 440 2", "priority": "low"})
        await asyncio.sleep(0.3)
        await http.post(f"{api.url}/api/skip")
        await asyncio.sleep(0.5)
        async with http.get(f"{api.url}/metrics") as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
            text = await r.text()
        async with aiohttp.ClientSession() as anonymous, anonymous.get(f"{api.url}/metrics") as r:
            assert r.status == 401
    assert 'tts_messages_accepted_total{source="api"} 2.0' in text
    assert 'tts_messages_rejected_total{reason="too_few_bits",source="api"} 1.0' in text
    assert "tts_time_to_first_audio_seconds_count" in text
    assert "tts_skip_latency_seconds_count 1.0" in text
    assert 'tts_queue_depth{priority="low"}' in text
    assert "tts_device_underflows_total 0.0" in text  # a paced output never runs dry
    table = stats_table(text)
    assert "tts_messages_accepted{source=api}" in table and "observed" in table


async def test_remove_history_and_replay(api: Api) -> None:
    async with aiohttp.ClientSession(headers=api.auth) as http:

        async def post(kind: str, **body: Any) -> dict[str, Any]:
            async with http.post(f"{api.url}/api/{kind}", json=body) as r:
                return await r.json()

        assert (await post("pause"))["ok"]
        keep = await post("tts", text="tone 440 0.2 keep me")
        drop = await post("tts", text="tone 440 0.2 remove me")
        removed = await post("remove", id=drop["id"])
        assert removed["ok"] and removed["action"] == "remove"
        async with http.get(f"{api.url}/api/queue") as r:
            assert [m["id"] for m in (await r.json())["queue"]] == [keep["id"]]
        await post("resume")
        for _ in range(50):
            history = (await post("history"))["history"]
            if any(h["id"] == keep["id"] and h["state"] == "finished" for h in history):
                break
            await asyncio.sleep(0.1)
        states = {h["id"]: h["state"] for h in history}
        assert states[keep["id"]] == "finished" and states[drop["id"]] == "dropped"
        replay = await post("replay", id=keep["id"])
        assert replay["ok"] and replay["id"].startswith("replay:")
        assert (await post("replay", id="nope"))["error"] == "no such message in the history"
