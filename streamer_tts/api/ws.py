"""The API's WebSocket: pages and tools talk, subscribers hear the event log.

Apart from the server because a socket lives long and is shared: one reader
per socket answering messages through the same handler as HTTP, one pusher
per subscription, and a bounded queue per subscriber so a slow client misses
its oldest events instead of holding the daemon back. Streamer.bot's
Speaker.bot requests are answered here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web

from ..tips import speakerbot
from .guard import FULL, OVERLAY_TYPES

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["MAX_CLIENT_BACKLOG", "Sockets"]

MAX_CLIENT_BACKLOG = 1000  # events queued for one slow subscriber before it misses some


class Sockets:
    """Every open `/ws` socket and subscription, behind one route handler."""

    def __init__(
        self,
        handle: Callable[[object], Awaitable[tuple[dict[str, Any], int]]],
        *,
        max_msg_size: int,
    ) -> None:
        self.handle = handle
        self.max_msg_size = max_msg_size
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._sockets: set[web.WebSocketResponse] = set()  # open pages and tools

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=self.max_msg_size, heartbeat=30)
        await ws.prepare(request)
        self._sockets.add(ws)
        events: asyncio.Queue[dict[str, Any]] | None = None
        pusher: asyncio.Task[None] | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type == WSMsgType.ERROR:
                        break
                    await ws.send_json({"ok": False, "error": "send JSON text frames"})
                    continue
                try:
                    data = json.loads(msg.data)
                except (ValueError, RecursionError):
                    await ws.send_json({"ok": False, "error": "message is not JSON"})
                    continue
                kind = data.get("type") if isinstance(data, dict) else None
                if request["scope"] != FULL and kind not in OVERLAY_TYPES:
                    await ws.send_json(
                        {
                            "ok": False,
                            "status": 403,
                            "error": "the overlay token may only subscribe",
                        }
                    )
                    continue
                if speakerbot.is_request(data):  # Streamer.bot driving us as Speaker.bot
                    await ws.send_json(await speakerbot.answer(self.handle, data))
                    continue
                if kind == "subscribe" and events is None:
                    events = asyncio.Queue(MAX_CLIENT_BACKLOG)
                    self._subscribers.add(events)
                    pusher = asyncio.create_task(self._push(ws, events))
                reply, _ = await self.handle(data)
                await ws.send_json(reply)
        finally:
            self._sockets.discard(ws)
            if events is not None:
                self._subscribers.discard(events)
            if pusher is not None:
                pusher.cancel()
        return ws

    async def _push(self, ws: web.WebSocketResponse, events: asyncio.Queue[dict[str, Any]]) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not ws.closed:
                await ws.send_json({"type": "event", **(await events.get())})

    def fan_out(self, record: dict[str, Any]) -> None:
        for q in list(self._subscribers):
            if q.full():  # a slow client misses its oldest events, never blocks the daemon
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(record)

    async def close(self) -> None:
        """Close every open socket (an OBS overlay is always connected): they
        reconnect to the next daemon, and shutdown never waits on them."""
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    ws.close(code=WSCloseCode.GOING_AWAY, message=b"daemon stopping"), 2
                )
