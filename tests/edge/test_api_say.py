"""Pronunciations through the control API: `say` / `unsay`, filtered, kept in the journal."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streamer_tts import logs
from tests.edge.api_rig import running_api

pytestmark = pytest.mark.timeout(120)


async def test_say_and_unsay(tmp_path: Path) -> None:
    started: list[dict[str, Any]] = []
    remove = logs.add_listener(lambda e: started.append(e) if e["event"] == "tts.started" else None)
    try:
        async with running_api(tmp_path) as api, aiohttp.ClientSession(headers=api.auth) as http:

            async def post(kind: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
                async with http.post(f"{api.url}/api/{kind}", json=body) as r:
                    return r.status, await r.json()

            status, reply = await post("say", {"term": "GIF", "respelling": "jif <b>ok</b>"})
            assert status == 200 and reply["ok"] and reply["detail"] == "gif is read as jif ok"
            status, reply = await post("say", {"term": "two words", "respelling": "x"})
            assert status == 200 and not reply["ok"] and "one word" in reply["detail"]
            status, reply = await post("say", {"term": "x"})
            assert status == 400 and reply["error"].startswith("respelling")
            status, reply = await post("tts", {"text": "a gif here"})
            assert reply["ok"]
            for _ in range(200):
                if started:
                    break
                await asyncio.sleep(0.05)
            assert started[0]["text"] == "a jif ok here"
            status, reply = await post("unsay", {"term": "gif"})
            assert reply["ok"] and reply["action"] == "unsay"
            said, _ = api.daemon.journal.lexicon()
            assert said == {"gif": ""}
    finally:
        remove()
