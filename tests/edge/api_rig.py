"""The real daemon with its control API on a free loopback port, for API tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from streamer_tts.api.token import overlay_token
from streamer_tts.config import Config
from streamer_tts.daemon import serve
from tests.fakes.tone_engine import ToneEngine


class Api:
    def __init__(self, url: str, token: str, daemon: Any) -> None:
        self.url, self.token, self.daemon = url, token, daemon
        self.overlay_token = overlay_token(token)
        self.auth = {"Authorization": f"Bearer {token}"}
        self.port = daemon.api.port


@contextlib.asynccontextmanager
async def running_api(tmp_path: Path, **sections: Any) -> AsyncIterator[Api]:
    config = Config.model_validate(
        {
            "audio": {"output": "none", "gap_ms": 0},
            "daemon": {"state_dir": str(tmp_path / "state")},
            "api": {"port": 0},
            "queue": {"max_size": 100},
            **sections,
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
    try:
        yield await asyncio.wait_for(ready, 30)
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 30) == 0
