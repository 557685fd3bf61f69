"""A local StreamElements Astro gateway (StreamElements/docs `docs/websockets/`).

Answers `subscribe` requests with a `response` (or `err_unauthorized` for a
token other than its own), and pushes `channel.tips` /
`channel.tips.moderation` messages shaped like the documented examples.
With `redeliver_on_subscribe`, every tip sent so far is sent again to a new
subscriber, as a gateway replaying after a reconnect would.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .server import FakeServer

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["FakeAstro"]

ROOM = "5ad23dcc18fff500d78c5348"
_ids = itertools.count(1)


def _frame(kind: str, **fields: object) -> str:
    ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"id": f"01FAKE{next(_ids):020d}", "ts": ts, "type": kind, **fields})


class FakeAstro(FakeServer):
    def __init__(self, *, token: str = "astro-token", redeliver_on_subscribe: bool = False) -> None:
        super().__init__()
        self.token = token
        self.redeliver_on_subscribe = redeliver_on_subscribe
        self.requests: list[dict[str, Any]] = []  # every request received, as sent
        self.subscribed: dict[web.WebSocketResponse, set[str]] = {}
        self.subscriptions = 0  # successful ones, ever
        self.history: list[dict[str, Any]] = []  # channel.tips payloads sent

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def gone(self, ws: web.WebSocketResponse) -> None:
        self.subscribed.pop(ws, None)

    async def received(self, ws: web.WebSocketResponse, text: str) -> None:
        try:
            request = json.loads(text)
        except ValueError:
            await ws.send_str(
                _frame("response", error="invalid_message", data={"message": "invalid json"})
            )
            return
        self.requests.append(request)
        nonce = request.get("nonce", "") if isinstance(request, dict) else ""
        data = request.get("data") if isinstance(request, dict) else None
        if (
            not isinstance(data, dict)
            or request.get("type") != "subscribe"
            or not isinstance(data.get("topic"), str)
            or data.get("token_type") not in ("jwt", "apikey", "oauth")
        ):
            await ws.send_str(
                _frame(
                    "response",
                    nonce=nonce,
                    error="err_bad_request",
                    data={"message": "bad request"},
                )
            )
            return
        if data.get("token") != self.token:
            await ws.send_str(
                _frame(
                    "response",
                    nonce=nonce,
                    error="err_unauthorized",
                    data={"message": "invalid token"},
                )
            )
            return
        topic = data["topic"]
        self.subscribed.setdefault(ws, set()).add(topic)
        self.subscriptions += 1
        await ws.send_str(
            _frame(
                "response",
                nonce=nonce,
                data={"message": "successfully subscribed to topic", "topic": topic},
            )
        )
        await self.changed()
        if self.redeliver_on_subscribe and topic == "channel.tips":
            for payload in list(self.history):
                await ws.send_str(_frame("message", topic="channel.tips", room=ROOM, data=payload))

    async def wait_subscribed(self, count: int, timeout_s: float = 20.0) -> None:
        """Until `count` subscriptions have succeeded since the start."""
        await self.wait_for(lambda: self.subscriptions >= count, timeout_s)

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        text = _frame("message", topic=topic, room=ROOM, data=payload)
        for ws, topics in list(self.subscribed.items()):
            if topic in topics:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_str(text)

    async def tip(
        self,
        tip_id: str,
        username: str,
        amount: float,
        currency: str = "USD",
        message: str = "",
        *,
        approved: str = "allowed",
    ) -> dict[str, Any]:
        """A completed tip on `channel.tips`, as in the documented example."""
        payload = {
            "donation": {
                "user": {"username": username, "geo": "ZZ", "channel": ROOM},
                "message": message,
                "amount": amount,
                "currency": currency,
                "paymentMethod": "scheme",
            },
            "_id": tip_id,
            "channel": ROOM,
            "provider": "paypal",
            "approved": approved,
            "status": "success",
            "createdAt": "2025-02-19T15:07:09.302Z",
            "updatedAt": "2025-02-19T15:07:17.099Z",
            "transactionId": f"TX{tip_id}",
        }
        self.history.append(payload)
        await self.publish("channel.tips", payload)
        return payload

    async def moderate(self, payload: dict[str, Any], approved: str) -> None:
        """A moderator's verdict on a tip (`channel.tips.moderation`)."""
        await self.publish(
            "channel.tips.moderation", {**payload, "approved": approved, "approvedBy": "mod"}
        )
