"""The control API: one aiohttp server inside the daemon, on loopback.

Every request needs a token. The full token (`Authorization: Bearer` header
for `/api/*` and `/metrics`; `?token=` is accepted only by the pages and
`/ws`, which a browser cannot give a header) can do everything; the overlay
token opens only `/overlay`, its assets and the `subscribe` stream of `/ws`,
so an OBS browser-source URL seen on stream cannot forge a donation. A
request naming a Host other than loopback or `api.host` (DNS rebinding) or
coming from a page of another origin is refused. Bodies are small and
validated. Everything goes through the conductor like any Twitch event:
donations meet the same admission core (source `api`). The checks live in
`guard.py`, the WebSocket side in `ws.py`; this module routes and answers.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

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
from ..tips.webhooks import Webhooks
from .guard import guard, refuse
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
from .pages import add_pages
from .token import overlay_token
from .ws import Sockets

if TYPE_CHECKING:
    from ..conductor import Conductor

__all__ = ["MAX_BODY_BYTES", "ControlApi"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024  # a donation is a few hundred bytes
API_USER = User("api", "Streamer", frozenset({Role.BROADCASTER}))
_COMMANDS = {
    CommandKey.SKIP: Skip,
    CommandKey.PAUSE: Pause,
    CommandKey.RESUME: Resume,
    CommandKey.CLEAR: Clear,
}


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
        self.sockets = Sockets(self.handle, max_msg_size=MAX_BODY_BYTES)
        self._remove_listener: Any = None
        self.webhooks = Webhooks()  # tip providers' POSTs; they check their own secret

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        check = guard(self.token, self.overlay_token, self.host, lambda: self.port)
        app = web.Application(middlewares=[check], client_max_size=MAX_BODY_BYTES)
        app.router.add_get("/ws", self.sockets.serve)
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
        await self.sockets.close()
        if self._runner is not None:
            await self._runner.cleanup()

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
                return refuse(413, f"body too large (at most {MAX_BODY_BYTES} bytes)")
            try:
                data = json.loads(body.decode("utf-8")) if body.strip() else {}
            except (UnicodeDecodeError, ValueError, RecursionError):
                return refuse(400, "body is not JSON (UTF-8)")
        if not isinstance(data, dict):
            return refuse(400, "body: expected a JSON object")
        if "type" in data and data["type"] != action:
            return refuse(400, f"type: {data['type']!r:.40} does not match the URL ({action})")
        reply, status = await self.handle({**data, "type": action})
        return web.json_response(reply, status=status)

    def _on_event(self, record: dict[str, Any]) -> None:
        """Every event-log record: into the figures, and out to subscribers."""
        if self.metrics is not None:
            self.metrics.observe(record)
        self.sockets.fan_out(record)

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
