"""Approval through the control API (HTTP and WebSocket), held messages
surviving a restart of the daemon, and flood mode seen from outside."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streamer_tts import logs
from streamer_tts.core.events import ChatTTS, User
from streamer_tts.journal import Journal
from streamer_tts.journal.store import State
from tests.edge.api_rig import Api, running_api

pytestmark = pytest.mark.timeout(120)

APPROVAL = {"moderation": {"approval": {"chat": ["everyone"]}}}


class Events:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.changed = asyncio.Event()

    def __call__(self, record: dict[str, Any]) -> None:
        self.seen.append(record)
        self.changed.set()

    def of(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.seen if e["event"] == name]

    async def wait(self, name: str, count: int = 1) -> list[dict[str, Any]]:
        async def until() -> list[dict[str, Any]]:
            while len(found := self.of(name)) < count:
                self.changed.clear()
                await self.changed.wait()
            return found

        return await asyncio.wait_for(until(), 20)


def chat(api: Api, mid: str, login: str, text: str) -> None:
    assert api.daemon.conductor.submit(ChatTTS(id=mid, user=User(login), message=text))


async def test_approve_and_reject_over_http_and_websocket(tmp_path: Path) -> None:
    events = Events()
    remove = logs.add_listener(events)
    try:
        async with running_api(tmp_path, **APPROVAL) as api:
            chat(api, "c1", "alice", "please read me")
            chat(api, "c2", "bob", "and me")
            chat(api, "c3", "carol", "not me")
            await events.wait(logs.TTS_HELD, 3)
            async with aiohttp.ClientSession(headers=api.auth) as http:
                async with http.get(f"{api.url}/api/queue") as r:
                    snap = await r.json()
                assert [h["n"] for h in snap["held"]] == [1, 2, 3]
                assert [h["id"] for h in snap["held"]] == ["c1", "c2", "c3"]
                assert all(0 < h["expires_s"] <= 300 for h in snap["held"])
                async with http.post(f"{api.url}/api/approve", json={"id": "c1"}) as r:
                    assert r.status == 200 and (await r.json())["ok"] is True
                async with http.post(f"{api.url}/api/reject", json={"id": "c3"}) as r:
                    assert r.status == 200 and (await r.json())["ok"] is True
                async with http.post(f"{api.url}/api/approve", json={"id": "nope"}) as r:
                    assert r.status == 404 and (await r.json())["ok"] is False
                async with http.post(f"{api.url}/api/approve", json={}) as r:
                    assert r.status == 400 and "id" in (await r.json())["error"]
                async with http.ws_connect(f"{api.url}/ws?token={api.token}") as ws:
                    await ws.send_json({"type": "approve", "id": "c2"})
                    reply = await asyncio.wait_for(ws.receive_json(), 10)
                    assert reply["ok"] is True
            await events.wait(logs.TTS_FINISHED, 2)
            await asyncio.wait_for(api.daemon.conductor.drained(), 20)
    finally:
        remove()
    assert [e["id"] for e in events.of(logs.TTS_APPROVED)] == ["c1", "c2"]
    assert all(e["by"] == "api" for e in events.of(logs.TTS_APPROVED))
    assert [e["id"] for e in events.of(logs.TTS_STARTED)] == ["c1", "c2"]
    dropped = events.of(logs.TTS_DROPPED)
    assert [(e["id"], e["reason"]) for e in dropped] == [("c3", "rejected")]
    names = [e["event"] for e in events.seen if e.get("id") == "c1"]
    assert names[:3] == [logs.TTS_ACCEPTED, logs.TTS_HELD, logs.TTS_APPROVED]


async def test_held_messages_survive_a_restart(tmp_path: Path) -> None:
    events = Events()
    remove = logs.add_listener(events)
    try:
        async with running_api(tmp_path, **APPROVAL) as api:
            chat(api, "k1", "alice", "held across a restart")
            chat(api, "k2", "bob", "rejected after it")
            await events.wait(logs.TTS_HELD, 2)
        with Journal.open(tmp_path / "state") as j:
            assert [m.id for m in j.held()] == ["k1", "k2"]
            assert j.get("k1").state is State.HELD  # type: ignore[union-attr]
        async with running_api(tmp_path, **APPROVAL) as api:
            snap = api.daemon.conductor.snapshot()
            assert [h["id"] for h in snap["held"]] == ["k1", "k2"]
            async with aiohttp.ClientSession(headers=api.auth) as http:
                async with http.post(f"{api.url}/api/approve", json={"id": "k1"}) as r:
                    assert (await r.json())["ok"] is True
                async with http.post(f"{api.url}/api/reject", json={"id": "k2"}) as r:
                    assert (await r.json())["ok"] is True
            await events.wait(logs.TTS_FINISHED)
            await asyncio.wait_for(api.daemon.conductor.drained(), 20)
            chat(api, "k1", "alice", "the same id again")  # still a duplicate
            rejected = await events.wait(logs.TTS_REJECTED)
            assert rejected[0]["reason"] == "duplicate"
    finally:
        remove()
    assert [e["id"] for e in events.of(logs.TTS_STARTED)] == ["k1"]
    assert [(e["id"], e["reason"]) for e in events.of(logs.TTS_DROPPED)] == [("k2", "rejected")]
    with Journal.open(tmp_path / "state") as j:
        assert j.held() == [] and j.get("k1").state is State.FINISHED  # type: ignore[union-attr]


async def test_flood_mode_on_and_off_through_the_daemon(tmp_path: Path) -> None:
    events = Events()
    remove = logs.add_listener(events)
    sections = {
        "queue": {"max_size": 100, "flood_threshold": 4},
        "limits": {"per_user": None, "global": None, "max_pending_per_user": None},
    }
    try:
        async with running_api(tmp_path, **sections) as api:
            async with aiohttp.ClientSession(headers=api.auth) as http:
                async with http.post(f"{api.url}/api/pause") as r:
                    assert (await r.json())["ok"] is True
                for i in range(5):
                    chat(api, f"f{i}", f"user{i}", f"message {i}")
                on = await events.wait(logs.QUEUE_FLOOD_ON)
                assert on[0]["waiting"] == 5 and on[0]["threshold"] == 4
                chat(api, "f5", "late", "refused")
                refused = await events.wait(logs.TTS_REJECTED)
                assert refused[0]["reason"] == "flood"
                async with http.get(f"{api.url}/api/queue") as r:
                    assert (await r.json())["flood"] is True
                async with http.post(f"{api.url}/api/resume") as r:
                    assert (await r.json())["ok"] is True
                off = await events.wait(logs.QUEUE_FLOOD_OFF)
                assert off[0]["waiting"] < 2
            await asyncio.wait_for(api.daemon.conductor.drained(), 30)
    finally:
        remove()
    started = events.of(logs.TTS_STARTED)
    assert [e["id"] for e in started] == [f"f{i}" for i in range(5)]
    # the first ones were read in the flood: without names
    assert started[0]["text"] == "message 0"
