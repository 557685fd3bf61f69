"""The control API: one aiohttp server inside the daemon, on loopback.

Every request needs a token. The full token (`Authorization: Bearer` header
for `/api/*` and `/metrics`; `?token=` is accepted only by the pages and
`/ws`, which a browser cannot give a header) can do everything; the overlay
token opens only `/overlay`, its assets and the `subscribe` stream of `/ws`,
so an OBS browser-source URL seen on stream cannot forge a donation. A
request naming a Host other than loopback or `api.host` (DNS rebinding) or
coming from a page of another origin is refused. Bodies are small and
validated. Everything goes through the conductor like any Twitch event:
donations meet the same admission core (source `api`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web

from .. import logs
from ..core.commands import CommandKey
from ..core.decisions import Accepted, Control, Rejected
from ..core.events import (
    Announce,
    Approve,
    Ban,
    Clear,
    Donation,
    Pause,
    Reject,
    Remove,
    Resume,
    Role,
    Say,
    Skip,
    Unban,
    Unsay,
    User,
)
from ..journal.writer import JournalUnavailable
from ..tips import speakerbot
from ..tips.webhooks import PREFIX as WEBHOOKS
from ..tips.webhooks import Webhooks
from .messages import (
    MESSAGE_TYPES,
    AnyIn,
    BadMessage,
    DonationIn,
    IdIn,
    SayIn,
    TtsIn,
    UnsayIn,
    UserIn,
    parse_message,
)
from .metrics import CONTENT_TYPE, Metrics
from .pages import OVERLAY_ASSETS, add_pages
from .token import overlay_token

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

    from ..conductor import Conductor

__all__ = ["MAX_BODY_BYTES", "ControlApi"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024  # a donation is a few hundred bytes
MAX_CLIENT_BACKLOG = 1000  # events queued for one slow subscriber before it misses some
API_USER = User("api", "Streamer", frozenset({Role.BROADCASTER}))
_COMMANDS = {
    CommandKey.SKIP: Skip,
    CommandKey.PAUSE: Pause,
    CommandKey.RESUME: Resume,
    CommandKey.CLEAR: Clear,
}
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
QUERY_TOKEN_PATHS = ("/overlay", "/dashboard", "/static/", "/ws")  # a browser sends no header
OVERLAY_PATHS = frozenset({"/overlay", "/ws"} | {f"/static/{a}" for a in OVERLAY_ASSETS})
OVERLAY_TYPES = frozenset({"subscribe"})  # the overlay only listens
FULL, OVERLAY = "full", "overlay"


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
        self.overlay_token = overlay_token(token)
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._sockets: set[web.WebSocketResponse] = set()  # open pages and tools
        self._remove_listener: Any = None
        self.webhooks = Webhooks()  # tip providers' POSTs; they check their own secret

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._guard], client_max_size=MAX_BODY_BYTES)
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/api/queue", self._http)
        app.router.add_post("/api/{action}", self._http)
        add_pages(app)
        self.webhooks.add_to(app)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self._runner.addresses:  # the port bound, when asked for port 0
            self.port = self._runner.addresses[0][1]
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

    # --- guard: host, token, scope, origin -----------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(WEBHOOKS):  # a provider's own secret, checked there
            return await handler(request)
        host = request.headers.get("Host", "")
        if _host_name(host) not in self._hosts():
            return _refuse(421, f"Host {host[:100]!r} is not this daemon (use {self.url})")
        header = request.headers.get("Authorization", "")
        given = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not given and "token" in request.query:
            if not request.path.startswith(QUERY_TOKEN_PATHS):
                return _refuse(
                    401,
                    "send the token as an 'Authorization: Bearer' header (?token= is for pages)",
                )
            given = request.query["token"]
        scope = self._scope(given)
        if scope is None:
            return _refuse(401, "missing or wrong API token")
        if scope == OVERLAY and request.path not in OVERLAY_PATHS:
            return _refuse(403, "the overlay token only opens the overlay")
        origin = request.headers.get("Origin")
        if origin is not None and origin not in self._origins():
            return _refuse(403, f"origin {origin[:100]} not allowed")
        request["scope"] = scope
        return await handler(request)

    def _scope(self, given: str) -> str | None:
        """Which token this is; both are always compared, in constant time."""
        full = secrets.compare_digest(given.encode(), self.token.encode())
        overlay = secrets.compare_digest(given.encode(), self.overlay_token.encode())
        return FULL if full else OVERLAY if overlay else None

    def _hosts(self) -> set[str]:
        own = self.host.lower()
        return {*LOOPBACK_HOSTS, own, f"[{own}]" if ":" in own else own}

    def _origins(self) -> set[str]:
        return {f"http://{h}:{self.port}" for h in self._hosts()}

    # --- HTTP ------------------------------------------------------------------------

    async def _metrics(self, request: web.Request) -> web.Response:
        if self.metrics is None:
            return web.json_response({"ok": False, "error": "metrics are off"}, status=404)
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    async def _http(self, request: web.Request) -> web.Response:
        action = request.match_info.get("action", "queue")
        data: object = {}
        if request.method == "POST" and request.can_read_body:
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                return _refuse(413, f"body too large (at most {MAX_BODY_BYTES} bytes)")
            try:
                data = json.loads(body.decode("utf-8")) if body.strip() else {}
            except (UnicodeDecodeError, ValueError, RecursionError):
                return _refuse(400, "body is not JSON (UTF-8)")
        if not isinstance(data, dict):
            return _refuse(400, "body: expected a JSON object")
        if "type" in data and data["type"] != action:
            return _refuse(400, f"type: {data['type']!r:.40} does not match the URL ({action})")
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
            return await _HANDLERS[msg.type](self, msg)
        except BadMessage as e:
            return {"ok": False, "error": str(e)}, 400

    async def _decide(self, event: object, mid: str) -> tuple[dict[str, Any], int]:
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
            answer = {"ok": False, "id": mid, "error": str(decision.reason)}
            return ({**answer, "detail": decision.detail} if decision.detail else answer), 200
        assert isinstance(decision, Control)
        return {"ok": True, "action": decision.action, "detail": decision.detail}, 200

    async def _donation(self, msg: AnyIn) -> tuple[dict[str, Any], int]:
        assert isinstance(msg, DonationIn)
        mid = f"api:{msg.id}" if msg.id else f"api:{uuid.uuid4()}"
        user = User(msg.donor_name.lower(), msg.donor_name)  # cleaned, never empty
        event = _build(
            Donation,
            id=mid,
            user=user,
            amount=msg.amount,
            currency=msg.currency,
            message=msg.message,
        )
        return await self._decide(event, mid)

    async def _tts(self, msg: AnyIn) -> tuple[dict[str, Any], int]:
        assert isinstance(msg, TtsIn)
        mid = f"api:{msg.id}" if msg.id else f"api:{uuid.uuid4()}"
        event = _build(Announce, id=mid, user=API_USER, message=msg.text, priority=msg.priority)
        return await self._decide(event, mid)

    async def _command(self, msg: AnyIn) -> tuple[dict[str, Any], int]:
        return await self._decide(_COMMANDS[CommandKey(msg.type)](by=API_USER), "")

    async def _user(self, msg: AnyIn) -> tuple[dict[str, Any], int]:
        assert isinstance(msg, UserIn)
        event = (Ban if msg.type == CommandKey.BAN else Unban)(by=API_USER, target=msg.user)
        return await self._decide(event, "")

    async def _say(self, msg: AnyIn) -> tuple[dict[str, Any], int]:
        """Teach (or untell) the voice a word; the core checks and filters it."""
        if isinstance(msg, SayIn):
            event = _build(Say, by=API_USER, term=msg.term, respelling=msg.respelling)
        else:
            assert isinstance(msg, UnsayIn)
            event = _build(Unsay, by=API_USER, term=msg.term)
        return await self._decide(event, "")

    async def _subscribe(self, msg: AnyIn) -> tuple[dict[str, Any], int]:
        # what plays now comes with the subscription: the overlay may ask nothing else
        return {
            "ok": True,
            "subscribed": True,
            "playing": self.conductor.snapshot()["playing"],
        }, 200

    async def _queue(self, msg: AnyIn) -> tuple[dict[str, Any], int]:
        return {"ok": True, **self.conductor.snapshot()}, 200

    async def _history(self, msg: AnyIn) -> tuple[dict[str, Any], int]:
        return {"ok": True, "history": await self.conductor.history()}, 200

    async def _remove(self, msg: AnyIn) -> tuple[dict[str, Any], int]:
        assert isinstance(msg, IdIn)
        return await self._decide(Remove(by=API_USER, target=msg.id), msg.id)

    async def _approval(self, msg: AnyIn) -> tuple[dict[str, Any], int]:
        """Approve or reject a message waiting for a moderator's OK, by id."""
        assert isinstance(msg, IdIn)
        kind = Approve if msg.type == CommandKey.APPROVE else Reject
        decision = await self.conductor.ask(kind(by=API_USER, target=msg.id))
        if isinstance(decision, Rejected):
            return {"ok": False, "id": msg.id, "error": str(decision.reason)}, 403
        assert isinstance(decision, Control)
        if decision.approved is None and not decision.dropped:
            return {"ok": False, "id": msg.id, "error": decision.detail}, 404
        return {"ok": True, "id": msg.id, "action": decision.action, "detail": decision.detail}, 200

    async def _replay(self, msg: AnyIn) -> tuple[dict[str, Any], int]:
        """Read a message from the history again."""
        assert isinstance(msg, IdIn)
        old = next((h for h in await self.conductor.history() if h["id"] == msg.id), None)
        if old is None:
            return {"ok": False, "id": msg.id, "error": "no such message in the history"}, 404
        mid = f"replay:{uuid.uuid4()}"
        event = Announce(id=mid, user=API_USER, message=old["text"], priority=old["priority"])
        return await self._decide(event, mid)


_Handler = Callable[[ControlApi, AnyIn], Awaitable[tuple[dict[str, Any], int]]]
_HANDLERS: dict[str, _Handler] = {
    "donation": ControlApi._donation,
    "tts": ControlApi._tts,
    **{str(key): ControlApi._command for key in _COMMANDS},
    "ban": ControlApi._user,
    "unban": ControlApi._user,
    "queue": ControlApi._queue,
    "history": ControlApi._history,
    "subscribe": ControlApi._subscribe,
    "remove": ControlApi._remove,
    "replay": ControlApi._replay,
    "say": ControlApi._say,
    "unsay": ControlApi._say,
    "approve": ControlApi._approval,
    "reject": ControlApi._approval,
}
if set(_HANDLERS) != set(MESSAGE_TYPES):  # every message type has exactly one handler
    raise TypeError(f"API handlers {sorted(_HANDLERS)} != message types {sorted(MESSAGE_TYPES)}")


def _build(kind: Callable[..., object], **fields: object) -> object:
    """A core event from checked fields; should the core still refuse one, the
    client hears why (400), the daemon does not fail (500)."""
    try:
        return kind(**fields)
    except ValueError as e:
        raise BadMessage(str(e)) from None


def _host_name(host: str) -> str:
    """`Host` without its port: `[::1]:8765` -> `[::1]`, `LocalHost:80` -> `localhost`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if ":" in host else host


def _refuse(status: int, error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status)
