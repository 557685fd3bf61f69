"""A local Streamlabs Socket API: Socket.IO 2 over Engine.IO 3, WebSocket only.

`GET /socket.io/?EIO=3&transport=websocket&token=...`: sends the open packet
`0{"sid", "upgrades", "pingInterval", "pingTimeout"}`, then `40` for a good
token or `44"Authentication error"` for another; answers the client's `2`
pings with `3` (unless `answer_pings` is off, a dead link); pushes donations
as `42["event", {"type": "donation", "message": [...], "for": "streamlabs"}]`.
"""

from __future__ import annotations

import itertools
import json

from aiohttp import web

from .server import FakeServer

__all__ = ["FakeStreamlabs"]

_sids = itertools.count(1)


class FakeStreamlabs(FakeServer):
    path = "/socket.io/"

    def __init__(
        self,
        *,
        token: str = "streamlabs-token",
        ping_interval_ms: int = 25_000,
        ping_timeout_ms: int = 60_000,
        redeliver_on_connect: bool = False,
    ) -> None:
        super().__init__()
        self.token = token
        self.ping_interval_ms = ping_interval_ms
        self.ping_timeout_ms = ping_timeout_ms
        self.redeliver_on_connect = redeliver_on_connect
        self.answer_pings = True
        self.handshake_status: int | None = None  # e.g. 503: an outage at the handshake
        self.pings = 0
        self.connected = 0  # namespace connections (`40`) ever sent
        self.authorized: set[web.WebSocketResponse] = set()
        self.history: list[str] = []  # donation events sent

    @property
    def url(self) -> str:
        return self.http_url  # the connector turns http into ws, as for https

    def refuse(self, request: web.Request) -> web.StreamResponse | None:
        if self.handshake_status is not None:
            return web.Response(status=self.handshake_status, text="unavailable")
        if request.query.get("EIO") != "3":
            return web.json_response(
                {"code": 5, "message": "Unsupported protocol version"}, status=400
            )
        if request.query.get("transport") != "websocket":
            return web.json_response({"code": 0, "message": "Transport unknown"}, status=400)
        return None

    async def opened(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        hello = {
            "sid": f"fake{next(_sids)}",
            "upgrades": [],
            "pingInterval": self.ping_interval_ms,
            "pingTimeout": self.ping_timeout_ms,
        }
        await ws.send_str("0" + json.dumps(hello))
        if request.query.get("token") != self.token:
            await ws.send_str('44"Authentication error"')
            return
        await ws.send_str("40")
        self.authorized.add(ws)
        self.connected += 1
        await self.changed()
        if self.redeliver_on_connect:
            for event in list(self.history):
                await ws.send_str(event)

    async def gone(self, ws: web.WebSocketResponse) -> None:
        self.authorized.discard(ws)

    async def received(self, ws: web.WebSocketResponse, text: str) -> None:
        if text.startswith("2"):
            self.pings += 1
            await self.changed()
            if self.answer_pings:
                await ws.send_str("3" + text[1:])

    async def wait_connected(self, count: int, timeout_s: float = 20.0) -> None:
        await self.wait_for(lambda: self.connected >= count, timeout_s)

    async def emit(self, data: object) -> str:
        text = "42" + json.dumps(["event", data])
        for ws in list(self.authorized):
            await ws.send_str(text)
        return text

    async def donation(
        self,
        donation_id: str,
        name: str,
        amount: float | str,
        currency: str = "USD",
        message: str = "",
    ) -> None:
        formatted = f"{amount} {currency}"
        item = {
            "_id": donation_id,
            "id": 90_000_000 + len(self.history),
            "name": name,
            "amount": str(amount),
            "formatted_amount": formatted,
            "formattedAmount": formatted,
            "message": message,
            "currency": currency,
            "from": name,
            "from_user_id": None,
        }
        text = await self.emit(
            {
                "type": "donation",
                "message": [item],
                "for": "streamlabs",
                "event_id": f"evt-{donation_id}",
            }
        )
        self.history.append(text)
