"""Streamlabs tips from the Socket API (Socket.IO 2 over Engine.IO 3).

`wss://sockets.streamlabs.com/socket.io/?EIO=3&transport=websocket&token=<socket
token>`; donations arrive as `42["event", {"type": "donation", "for":
"streamlabs", "message": [{"_id", "name", "amount", "formatted_amount",
"currency", "message"}]}]` (one event may hold several). Other event types
(Twitch follows, subs ...) are Twitch's own and read from Twitch directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.events import Source
from . import engineio
from .common import AuthError, BadTip, TipSink, http_session, make_tip

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Streamlabs"]


class Streamlabs:
    source = Source.STREAMLABS

    def __init__(
        self, sink: TipSink, *, token: str, url: str = "https://sockets.streamlabs.com"
    ) -> None:
        self.sink = sink
        self.token = token
        self.url = url

    async def session(self, connected: Callable[[], None]) -> str:
        url = engineio.connect_url(self.url, {"token": self.token})
        async with http_session() as http:
            try:
                async for event in engineio.events(http, url, on_open=connected):
                    if isinstance(event, ValueError):
                        self.sink.ignored(self.source, f"malformed event: {event}")
                        continue
                    name, data = event
                    if name == "event":
                        await self._event(data)
            except engineio.RefusedError as e:
                raise AuthError(
                    f"Streamlabs refused the socket token ({e}); "
                    "check sources.streamlabs.token (Streamlabs > API settings > Socket API Token)"
                ) from None
        return "closed by Streamlabs"

    async def _event(self, data: object) -> None:
        if not isinstance(data, dict) or data.get("type") != "donation":
            return
        if data.get("for") not in (None, "streamlabs"):
            return
        items = data.get("message")
        if not isinstance(items, list):
            self.sink.ignored(self.source, "malformed donation: message is not a list")
            return
        for item in items:
            if not isinstance(item, dict):
                self.sink.ignored(self.source, "malformed donation: not an object")
                continue
            try:
                tip = make_tip(
                    self.source,
                    provider_id=item.get("_id") or item.get("id"),
                    name=item.get("name") or item.get("from"),
                    amount=item.get("amount"),
                    currency=item.get("currency"),
                    message=item.get("message") or "",
                )
            except BadTip as e:
                self.sink.ignored(self.source, f"malformed donation: {e}")
                continue
            await self.sink.submit(tip)
