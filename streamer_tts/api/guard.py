"""Who may talk to the control API: the Host, token, scope and Origin checks.

Apart from the server because it is the whole of the API's security: one
middleware that every request but the tip providers' webhooks (they check
their own secret) passes before any handler sees it. The full token opens
everything; the overlay token only the overlay, its assets and `/ws`
subscriptions. A Host other than loopback or `api.host` (DNS rebinding) or an
Origin of another page is refused.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from aiohttp import web

from ..tips.webhooks import PREFIX as WEBHOOKS
from .pages import OVERLAY_ASSETS

if TYPE_CHECKING:
    from collections.abc import Callable

    from aiohttp.typedefs import Handler, Middleware

__all__ = ["FULL", "OVERLAY", "OVERLAY_TYPES", "guard", "refuse"]

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
QUERY_TOKEN_PATHS = ("/overlay", "/dashboard", "/static/", "/ws")  # a browser sends no header
OVERLAY_PATHS = frozenset({"/overlay", "/ws"} | {f"/static/{a}" for a in OVERLAY_ASSETS})
OVERLAY_TYPES = frozenset({"subscribe"})  # the overlay only listens
FULL, OVERLAY = "full", "overlay"


def guard(token: str, overlay_token: str, host: str, port: Callable[[], int]) -> Middleware:
    """The middleware; `port()` is read per request (port 0 binds late).

    A request that passes carries its scope (`FULL` or `OVERLAY`) as `request["scope"]`.
    """
    own = host.lower()
    hosts = {*LOOPBACK_HOSTS, own, f"[{own}]" if ":" in own else own}

    def scope_of(given: str) -> str | None:
        """Which token this is; both are always compared, in constant time."""
        full = secrets.compare_digest(given.encode(), token.encode())
        overlay = secrets.compare_digest(given.encode(), overlay_token.encode())
        return FULL if full else OVERLAY if overlay else None

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(WEBHOOKS):  # a provider's own secret, checked there
            return await handler(request)
        named = request.headers.get("Host", "")
        if host_name(named) not in hosts:
            url = f"http://{host}:{port()}"
            return refuse(421, f"Host {named[:100]!r} is not this daemon (use {url})")
        header = request.headers.get("Authorization", "")
        given = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not given and "token" in request.query:
            if not request.path.startswith(QUERY_TOKEN_PATHS):
                return refuse(
                    401,
                    "send the token as an 'Authorization: Bearer' header (?token= is for pages)",
                )
            given = request.query["token"]
        scope = scope_of(given)
        if scope is None:
            return refuse(401, "missing or wrong API token")
        if scope == OVERLAY and request.path not in OVERLAY_PATHS:
            return refuse(403, "the overlay token only opens the overlay")
        origin = request.headers.get("Origin")
        if origin is not None and origin not in {f"http://{h}:{port()}" for h in hosts}:
            return refuse(403, f"origin {origin[:100]} not allowed")
        request["scope"] = scope
        return await handler(request)

    return check


def host_name(host: str) -> str:
    """`Host` without its port: `[::1]:8765` -> `[::1]`, `LocalHost:80` -> `localhost`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if ":" in host else host


def refuse(status: int, error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status)
