"""StreamElements tips from the Astro WebSocket gateway.

Protocol (StreamElements/docs `docs/websockets/`): connect to
`wss://astro.streamelements.com`, send `{"type": "subscribe", "nonce",
"data": {"topic", "token", "token_type"}}`; the gateway answers each request
with `{"type": "response", "nonce", "data": {...}}` or, refused, with an
`error` (`err_unauthorized`: a bad token). Tips arrive as `{"type": "message",
"topic": "channel.tips", "data": {"_id", "donation": {"user": {"username"},
"amount", "currency", "message"}, "approved"}}`; `channel.tips.moderation`
reports the moderators' verdict (`approved`: pending / allowed / rejected).
No keepalive is documented, so the socket sends WebSocket pings itself.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType

from ..core.events import Source
from .common import AuthError, BadTip, TipSink, http_session, make_tip, obj

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["TIPS", "TIPS_MODERATION", "StreamElements"]

TIPS = "channel.tips"
TIPS_MODERATION = "channel.tips.moderation"
SUBSCRIBE_TIMEOUT_S = 10.0
HEARTBEAT_S = 30.0  # WebSocket ping; a peer silent for half of it is gone
MAX_FRAME_BYTES = 1 << 20
# errors that a new attempt with the same token cannot fix
_AUTH_ERRORS = frozenset({"err_unauthorized", "err_bad_request"})


class StreamElements:
    source = Source.STREAMELEMENTS

    def __init__(
        self,
        sink: TipSink,
        *,
        token: str,
        token_type: str = "jwt",
        url: str = "wss://astro.streamelements.com",
        require_approved: bool = False,
    ) -> None:
        self.sink = sink
        self.token = token
        self.token_type = token_type
        self.url = url
        self.require_approved = require_approved

    @property
    def topics(self) -> tuple[str, ...]:
        return (TIPS, TIPS_MODERATION) if self.require_approved else (TIPS,)

    def _subscribe(self, topic: str) -> tuple[str, str]:
        nonce = str(uuid.uuid4())
        request = {
            "type": "subscribe",
            "nonce": nonce,
            "data": {"topic": topic, "token": self.token, "token_type": self.token_type},
        }
        return nonce, json.dumps(request)

    async def session(self, connected: Callable[[], None]) -> str:
        """One connection: subscribe, then read tips until it ends."""
        async with (
            http_session() as http,
            http.ws_connect(self.url, heartbeat=HEARTBEAT_S, max_msg_size=MAX_FRAME_BYTES) as ws,
        ):
            pending: dict[str, str] = {}
            for topic in self.topics:
                nonce, request = self._subscribe(topic)
                pending[nonce] = topic
                await ws.send_str(request)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + SUBSCRIBE_TIMEOUT_S
            while True:
                timeout = max(0.1, deadline - loop.time()) if pending else None
                try:
                    msg = await ws.receive(timeout=timeout)
                except TimeoutError:
                    return f"no answer to subscribe within {SUBSCRIBE_TIMEOUT_S:g} s"
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                    return f"closed by the gateway ({ws.close_code})"
                if msg.type == WSMsgType.ERROR:
                    return f"socket error: {ws.exception()}"
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    self.sink.ignored(self.source, "a frame that is not JSON")
                    continue
                if not isinstance(frame, dict):
                    self.sink.ignored(self.source, "a frame that is not a JSON object")
                    continue
                kind = frame.get("type")
                if kind == "response":
                    self._response(frame, pending)
                    if not pending and not frame.get("error"):
                        connected()
                elif kind == "message":
                    await self._message(frame)
                elif kind == "reconnect":  # the gateway asks clients to come back
                    return "the gateway asked for a reconnect"
                # "welcome" and other notices need nothing

    def _response(self, frame: dict[str, Any], pending: dict[str, str]) -> None:
        nonce = frame.get("nonce")
        topic = pending.pop(nonce, None) if isinstance(nonce, str) else None
        error = frame.get("error")
        if not error:
            return
        detail = obj(frame.get("data")).get("message") or frame.get("data") or ""
        what = f"{error}: {detail}" if detail else str(error)
        if error in _AUTH_ERRORS:
            raise AuthError(
                f"StreamElements refused the {self.token_type} token ({what}); "
                "check sources.streamelements.token and token_type"
            )
        raise ConnectionError(f"subscribe to {topic or '?'} failed ({what})")

    async def _message(self, frame: dict[str, Any]) -> None:
        topic = frame.get("topic")
        if topic not in (TIPS, TIPS_MODERATION):
            return
        data = obj(frame.get("data"))
        approved = data.get("approved")
        if self.require_approved and approved != "allowed":
            return  # pending or rejected: the verdict comes on the moderation topic
        if not self.require_approved and topic == TIPS_MODERATION:
            return
        donation = obj(data.get("donation"))
        try:
            tip = make_tip(
                self.source,
                provider_id=data.get("_id"),
                name=obj(donation.get("user")).get("username"),
                amount=donation.get("amount"),
                currency=donation.get("currency"),
                message=donation.get("message") or "",
            )
        except BadTip as e:
            self.sink.ignored(self.source, f"malformed tip: {e}")
            return
        await self.sink.submit(tip)
