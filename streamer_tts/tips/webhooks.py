"""Webhook routes on the control API's server: `POST /webhooks/<name>`.

Tip providers cannot send the API token, so these paths are exempt from it
(`PREFIX`) and each handler checks its own provider's secret. The route is
added when the server starts (aiohttp freezes its router then); handlers
are filled in later by the tip connectors, and a path without one is 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

__all__ = ["PREFIX", "Webhooks"]

PREFIX = "/webhooks/"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Webhooks:
    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}

    def add_to(self, app: web.Application) -> None:
        app.router.add_post(PREFIX + "{name}", self._dispatch)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        handler = self.handlers.get(request.match_info["name"])
        if handler is None:
            return web.json_response({"ok": False, "error": "no such webhook"}, status=404)
        return await handler(request)
