"""Ko-fi tips by webhook: `POST /webhooks/kofi` on the control API's server.

Ko-fi posts `application/x-www-form-urlencoded` with one field, `data`, a
JSON object: `verification_token`, `message_id`, `kofi_transaction_id`,
`type` (Donation, Subscription, Commission, Shop Order), `is_public`,
`from_name`, `message`, `amount` (a string), `currency`, `timestamp`, `url`.
It retries until it gets a 200, so every request that came from Ko-fi is
answered 200, a duplicate too (the transaction id is the event id). The API
token does not apply here (Ko-fi cannot send it); the verification token is
checked instead, in constant time. `is_public: false` hides name and message.
"""

from __future__ import annotations

import hmac
import json
from typing import TYPE_CHECKING

from aiohttp import web

from ..core.events import Source
from .common import BadTip, TipSink, make_tip

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Kofi"]


class Kofi:
    source = Source.KOFI

    def __init__(
        self,
        sink: TipSink,
        *,
        verification_token: str,
        types: Iterable[str] = ("Donation", "Subscription"),
    ) -> None:
        self.sink = sink
        self._token = verification_token.encode()
        self.types = frozenset(types)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            form = await request.post()
        except (ValueError, web.HTTPException):
            form = None
        raw = form.get("data") if form is not None else None
        try:
            data = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            self.sink.ignored(self.source, "a request without a JSON 'data' field")
            return web.Response(status=400, text="expected a form field 'data' holding JSON")
        given = data.get("verification_token")
        given_bytes = given.encode() if isinstance(given, str) else b""
        if not hmac.compare_digest(given_bytes, self._token):
            self.sink.ignored(self.source, "wrong verification token (not from Ko-fi?)")
            return web.Response(status=401, text="wrong verification token")
        kind = data.get("type")
        if kind not in self.types:
            self.sink.ignored(
                self.source, f"type {str(kind)[:40]!r} is not read (sources.kofi.types)"
            )
            return web.Response(text="ok")
        public = data.get("is_public") is not False
        try:
            tip = make_tip(
                self.source,
                provider_id=data.get("kofi_transaction_id") or data.get("message_id"),
                name=data.get("from_name"),
                amount=data.get("amount"),
                currency=data.get("currency"),
                message=data.get("message") or "",
                private=not public,
            )
        except BadTip as e:
            self.sink.ignored(self.source, f"malformed tip: {e}")
            return web.Response(text="ok")  # a retry would be just as malformed
        await self.sink.submit(tip)
        return web.Response(text="ok")
