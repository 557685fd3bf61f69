"""The control API: one aiohttp server inside the daemon, on loopback.

Every request and WebSocket needs the API token (header `Authorization:
Bearer <token>` or `?token=`); a browser request from another origin is
refused, so a web page open in the streamer's browser cannot drive it.
Bodies are small and validated. Everything goes through the conductor like
any Twitch event: donations meet the same admission core (source `api`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web

from .. import logs
from ..core.decisions import Accepted, Control, Rejected
from ..core.events import (
    Announce,
    Ban,
    Clear,
    Donation,
    Pause,
    Remove,
    Resume,
    Role,
    Skip,
    Unban,
    User,
)
from ..journal.writer import JournalUnavailable
from .messages import BadMessage, DonationIn, IdIn, SimpleIn, TtsIn, UserIn, parse_message
from .metrics import CONTENT_TYPE, Metrics
from .pages import add_pages

if TYPE_CHECKING:
    from ..conductor import Conductor

__all__ = ["MAX_BODY_BYTES", "ControlApi"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024  # a donation is a few hundred bytes
MAX_CLIENT_BACKLOG = 1000  # events queued for one slow subscriber before it misses some
API_USER = User("api", "Streamer", frozenset({Role.BROADCASTER}))
_COMMANDS = {"skip": Skip, "pause": Pause, "resume": Resume, "clear": Clear}


class ControlApi:
    def __init__(
        self,
        conductor: Conductor,
        *,
        token: str,
        host: str,
        port: int,
        metrics: Metrics | None = None,
    ) -> None:
        self.conductor = conductor
        self.metrics = metrics
        self.token = token
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._sockets: set[web.WebSocketResponse] = set()  # open pages and tools
        self._remove_listener: Any = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._guard], client_max_size=MAX_BODY_BYTES)
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/api/queue", self._http)
        app.router.add_post("/api/{action}", self._http)
        add_pages(app)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        if server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]
        self._remove_listener = logs.add_listener(self._on_event)
        logs.emit(logs.API_READY, url=self.url)

    async def close(self) -> None:
        """Close every open socket first (an OBS overlay is always connected):
        they reconnect to the next daemon, and shutdown never waits on them."""
        if self._remove_listener is not None:
            self._remove_listener()
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    ws.close(code=WSCloseCode.GOING_AWAY, message=b"daemon stopping"), 2
                )
        if self._runner is not None:
            await self._runner.cleanup()

    # --- guard: token, origin --------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        given = given or request.query.get("token", "")
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            return web.json_response(
                {"ok": False, "error": "missing or wrong API token"}, status=401
            )
        origin = request.headers.get("Origin")
        if origin is not None and origin not in self._origins():
            return web.json_response(
                {"ok": False, "error": f"origin {origin} not allowed"}, status=403
            )
        return await handler(request)

    def _origins(self) -> set[str]:
        return {f"http://{h}:{self.port}" for h in (self.host, "localhost", "127.0.0.1")}

    # --- HTTP ------------------------------------------------------------------------

    async def _metrics(self, request: web.Request) -> web.Response:
        if self.metrics is None:
            return web.json_response({"ok": False, "error": "metrics are off"}, status=404)
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    async def _http(self, request: web.Request) -> web.Response:
        action = request.match_info.get("action", "queue")
        data: dict[str, Any] = {}
        if request.method == "POST" and request.can_read_body:
            try:
                data = await request.json()
            except web.HTTPRequestEntityTooLarge:
                return web.json_response({"ok": False, "error": "body too large"}, status=413)
            except ValueError:
                return web.json_response({"ok": False, "error": "body is not JSON"}, status=400)
        if not isinstance(data, dict):
            return web.json_response({"ok": False, "error": "expected a JSON object"}, status=400)
        reply, status = await self.handle({**data, "type": action})
        return web.json_response(reply, status=status)

    # --- WebSocket --------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=MAX_BODY_BYTES, heartbeat=30)
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
                except ValueError:
                    await ws.send_json({"ok": False, "error": "message is not JSON"})
                    continue
                if isinstance(data, dict) and data.get("type") == "subscribe" and events is None:
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

    def _on_event(self, record: dict[str, Any]) -> None:
        """Every event-log record: into the figures, and out to subscribers."""
        if self.metrics is not None:
            self.metrics.observe(record)
        self._fan_out(record)

    def _fan_out(self, record: dict[str, Any]) -> None:
        for q in list(self._subscribers):
            if q.full():  # a slow client misses its oldest events, never blocks the daemon
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(record)

    # --- the one handler for both transports ---------------------------------------------

    async def handle(self, data: object) -> tuple[dict[str, Any], int]:
        """One message in, one reply out: `({"ok": ...}, http status)`."""
        try:
            msg = parse_message(data)
        except BadMessage as e:
            return {"ok": False, "error": str(e)}, 400
        if isinstance(msg, DonationIn):
            mid = f"api:{msg.id}" if msg.id else f"api:{uuid.uuid4()}"
            login = " ".join(msg.donor_name.split()).lower()
            event: object = Donation(
                id=mid,
                user=User(login, msg.donor_name),
                amount=msg.amount,
                currency=msg.currency,
                message=msg.message,
            )
        elif isinstance(msg, TtsIn):
            mid = f"api:{msg.id}" if msg.id else f"api:{uuid.uuid4()}"
            event = Announce(id=mid, user=API_USER, message=msg.text, priority=msg.priority)
        elif isinstance(msg, UserIn):
            mid = ""
            event = (Ban if msg.type == "ban" else Unban)(by=API_USER, target=msg.user)
        elif isinstance(msg, SimpleIn) and msg.type == "subscribe":
            return {"ok": True, "subscribed": True}, 200
        elif isinstance(msg, SimpleIn) and msg.type == "queue":
            return {"ok": True, **self.conductor.snapshot()}, 200
        elif isinstance(msg, SimpleIn) and msg.type == "history":
            return {"ok": True, "history": await self.conductor.history()}, 200
        elif isinstance(msg, IdIn) and msg.type == "remove":
            mid = msg.id
            event = Remove(by=API_USER, target=msg.id)
        elif isinstance(msg, IdIn):  # replay: read a message from the history again
            old = next((h for h in await self.conductor.history() if h["id"] == msg.id), None)
            if old is None:
                return {"ok": False, "id": msg.id, "error": "no such message in the history"}, 404
            mid = f"replay:{uuid.uuid4()}"
            event = Announce(id=mid, user=API_USER, message=old["text"], priority=old["priority"])
        else:
            mid = ""
            event = _COMMANDS[msg.type](by=API_USER)
        try:
            decision = await self.conductor.ask(event)
        except JournalUnavailable as e:  # not written, not queued: the client may retry
            return {"ok": False, "id": mid, "error": f"journal unavailable: {e}"}, 503
        if isinstance(decision, Accepted):
            return {
                "ok": True,
                "id": decision.message.id,
                "priority": str(decision.message.priority),
            }, 200
        if isinstance(decision, Rejected):
            if decision.reason.value == "duplicate":
                return {"ok": True, "id": mid, "duplicate": True}, 200
            return {"ok": False, "id": mid, "error": str(decision.reason)}, 200
        assert isinstance(decision, Control)
        return {"ok": True, "action": decision.action, "detail": decision.detail}, 200
