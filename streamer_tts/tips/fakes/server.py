"""A WebSocket server on loopback that tracks its clients (the fakes' base)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Self

from aiohttp import WSCloseCode, web

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["FakeServer"]


class FakeServer:
    path = "/"

    def __init__(self) -> None:
        self.clients: list[web.WebSocketResponse] = []
        self.connections = 0  # sockets ever opened
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(self.path, self._serve)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        await self.drop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def drop(self) -> None:
        """Close every client's socket, as a provider's restart would."""
        for ws in list(self.clients):
            with contextlib.suppress(Exception):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server restart")

    async def changed(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, check: Callable[[], bool], timeout_s: float = 20.0) -> None:
        """Wait until `check()` is true (re-checked on each change)."""

        async def until() -> None:
            async with self._changed:
                await self._changed.wait_for(check)

        await asyncio.wait_for(until(), timeout_s)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        refused = self.refuse(request)
        if refused is not None:
            return refused
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.clients.append(ws)
        self.connections += 1
        await self.changed()
        try:
            await self.opened(ws, request)
            async for msg in ws:
                await self.received(ws, msg.data if isinstance(msg.data, str) else "")
        finally:
            self.clients.remove(ws)
            await self.gone(ws)
            await self.changed()
        return ws

    def refuse(self, request: web.Request) -> web.StreamResponse | None:
        return None

    async def opened(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        pass

    async def received(self, ws: web.WebSocketResponse, text: str) -> None:
        pass

    async def gone(self, ws: web.WebSocketResponse) -> None:
        pass

    async def send_raw(self, text: str) -> None:
        for ws in list(self.clients):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(text)
