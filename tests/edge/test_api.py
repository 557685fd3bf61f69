"""The control API on loopback: token, origin, size, every message type, retries, load."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streamer_tts import logs
from streamer_tts.config import Config
from streamer_tts.daemon import serve
from tests.fakes.tone_engine import ToneEngine

pytestmark = pytest.mark.timeout(120)


class Api:
    def __init__(self, url: str, token: str, daemon: Any) -> None:
        self.url, self.token, self.daemon = url, token, daemon
        self.auth = {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    config = Config.model_validate(
        {
            "audio": {"output": "none", "gap_ms": 0},
            "daemon": {"state_dir": str(tmp_path / "state")},
            "api": {"port": 0},
            "queue": {"max_size": 100},
        }
    )
    ready: asyncio.Future[Api] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def until(daemon: Any) -> None:
        token = (tmp_path / "state" / "api-token").read_text().strip()
        ready.set_result(Api(daemon.api.url, token, daemon))
        await stop.wait()

    engine = ToneEngine(seconds_per_char=0.002)
    task = asyncio.create_task(serve(config, until=until, twitch=False, engines=[engine]))
    yield await asyncio.wait_for(ready, 30)
    stop.set()
    assert await asyncio.wait_for(task, 30) == 0


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


async def test_200_clients_10000_donations_none_lost_none_twice(
    api: Api, report: Callable[[str], None]
) -> None:
    seen: list[str] = []
    remove = logs.add_listener(
        lambda r: seen.append(r["id"]) if r["event"] == "tts.accepted" else None
    )

    async def client(n: int, http: aiohttp.ClientSession) -> list[dict[str, Any]]:
        replies = []
        async with http.ws_connect(f"{api.url}/ws?token={api.token}") as ws:
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
        async with aiohttp.ClientSession() as http:
            results = await asyncio.gather(*(client(n, http) for n in range(200)))
    finally:
        remove()
    replies = [r for batch in results for r in batch]
    accepted = [r for r in replies if r["ok"] and not r.get("duplicate")]
    rejected = [r for r in replies if not r["ok"]]
    assert len(replies) == 10_000
    assert all(r.get("error") for r in rejected)  # every refusal names its reason
    assert len(accepted) + len(rejected) == 10_000
    assert len(set(seen)) == len(seen) == len(accepted)  # none accepted twice
    report(
        f"api load: 200 clients, 10000 donations, {len(accepted)} accepted, "
        f"{len(rejected)} rejected with a reason, 0 lost, 0 twice"
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
