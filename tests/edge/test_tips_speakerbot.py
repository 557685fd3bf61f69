"""Streamer.bot driving us as it drives Speaker.bot: its requests on `/ws`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.edge.tips_rig import running

pytestmark = pytest.mark.timeout(120)


async def test_speakerbot_requests_drive_the_daemon(tmp_path: Path) -> None:
    async with (
        running(tmp_path, {}) as rig,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{rig.url}/ws?token={rig.token}") as ws,
    ):

        async def request(body: dict[str, Any]) -> dict[str, Any]:
            await ws.send_json(body)
            return await asyncio.wait_for(ws.receive_json(), 10)

        speak = {
            "id": "sb-1",
            "request": "Speak",
            "voice": "EventVoice",
            "message": "Thanks for the raid, everyone",
            "badWordFilter": True,
        }
        reply = await request(speak)
        assert reply["id"] == "sb-1" and reply["status"] == "ok"
        [accepted] = await rig.wait("tts.accepted", text="Thanks for the raid, everyone")
        assert accepted["source"] == "api" and reply["messageId"] == accepted["id"]
        await rig.wait("tts.finished", id=accepted["id"])

        # Disable holds reading without losing what waits; Enable goes on
        assert await request({"id": "sb-2", "request": "Disable"}) == {"id": "sb-2", "status": "ok"}
        held = await request({**speak, "id": "sb-3", "message": "tone 440 3"})
        assert held["status"] == "ok"
        await rig.wait("tts.accepted", id=held["messageId"])
        await asyncio.sleep(0.4)
        assert not rig.find("tts.started", id=held["messageId"])
        assert (await request({"id": "sb-4", "request": "Enable"}))["status"] == "ok"
        await rig.wait("tts.started", id=held["messageId"])
        stop = await request({"id": "sb-5", "request": "Stop"})
        assert stop["status"] == "ok"
        await rig.wait("tts.skipped", id=held["messageId"])

        for name in ("Pause", "Resume", "Clear"):
            assert (await request({"id": name, "request": name}))["status"] == "ok"
        unknown = await request({"id": "sb-6", "request": "Mode", "mode": "all"})
        assert unknown["status"] == "error" and "not supported" in unknown["error"]
        empty = await request({"id": "sb-7", "request": "Speak", "message": " "})
        assert empty["status"] == "error"
        # our own messages still work on the same socket
        assert (await request({"type": "queue"}))["ok"] is True

    async with aiohttp.ClientSession() as http:  # the token rules are the same
        with pytest.raises(aiohttp.WSServerHandshakeError):
            async with running(tmp_path, {}) as rig, http.ws_connect(f"{rig.url}/ws"):
                pass
