"""The browser pages: an OBS overlay and a dashboard for the streamer and mods.

`/overlay?token=...` and `/dashboard?token=...` are plain HTML; their CSS and
JS come from `/static/<name>?token=...` (the control API's guard checks every
request, pages and assets alike; the overlay's read-only token opens only the
overlay and `OVERLAY_ASSETS`). The pages talk to the daemon only through
the `/ws` WebSocket, same origin, same token. Files are read from the package
with `importlib.resources`, so there is no build step and nothing on disk to
find at run time.
"""

from __future__ import annotations

import html
import re
from importlib import resources
from urllib.parse import quote

from aiohttp import web

__all__ = ["OVERLAY_ASSETS", "add_pages"]

OVERLAY_ASSETS = ("overlay.css", "daemon.js", "overlay.js")  # all the overlay token may fetch
_PAGES = {"overlay": "overlay.html", "dashboard": "dashboard.html"}
_TYPES = {".css": "text/css", ".js": "text/javascript", ".html": "text/html"}
_ASSET = re.compile(r"^[a-z0-9_-]+\.(css|js)$")
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # 'unsafe-inline' styles only: OBS injects a browser source's "Custom CSS" as a <style>
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
}


_PACKAGE = __name__.rpartition(".")[0]  # streamer_tts.api, where static/ lives


def _read(name: str) -> str | None:
    try:
        return resources.files(_PACKAGE).joinpath("static", name).read_text("utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


async def _page(request: web.Request) -> web.Response:
    name = _PAGES[request.path.strip("/")]
    text = _read(name)
    if text is None:
        raise web.HTTPNotFound()
    # the guard has already checked this token; the page passes it on to its assets
    token = html.escape(quote(request.query.get("token", ""), safe=""), quote=True)
    return web.Response(
        text=text.replace("__TOKEN__", token), content_type="text/html", headers=_HEADERS
    )


async def _asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    text = _read(name) if _ASSET.match(name) else None
    if text is None:
        raise web.HTTPNotFound()
    suffix = name[name.rindex(".") :]
    return web.Response(text=text, content_type=_TYPES[suffix], headers=_HEADERS)


def add_pages(app: web.Application) -> None:
    """Register `/overlay`, `/dashboard` and `/static/{name}` on the control API."""
    for path in _PAGES:
        app.router.add_get(f"/{path}", _page)
    app.router.add_get("/static/{name}", _asset)
