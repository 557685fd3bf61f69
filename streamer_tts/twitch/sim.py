"""A local Twitch for tests and the demo: OAuth, Helix and an EventSub WebSocket on one port.

Twitch is unreachable from tests and from a streamer trying the demo, so this
plays its part closely enough that an unmodified TwitchIO bot runs against it:
point ``twitchio.http.Route.BASE``/``ID_BASE`` and
``twitchio.eventsub.websockets.WSS`` at :attr:`TwitchSim.endpoints`.
Subscriptions are checked as Twitch checks them (live session, condition,
scopes: 403 otherwise), and a notification reaches only the sessions holding a
matching subscription. Payloads come from :mod:`.sim_payloads`.

By hand: ``python -m streamer_tts.twitch.sim --port 8080 [--script demo.yaml]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import runpy
import secrets
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from aiohttp import WSMsgType, web
from yarl import URL

from . import sim_payloads as p
from .sim_payloads import Event, SimUser

__all__ = [
    "DEFAULT_BOT", "DEFAULT_BROADCASTER", "ScriptError", "SimRequest", "SimUser", "TwitchSim",
    "load_script", "main", "validate_script",
]  # fmt: skip

DEFAULT_BROADCASTER = SimUser("1000", "streamer", "Streamer", frozenset({
    "channel:bot", "bits:read", "channel:read:subscriptions", "channel:read:redemptions",
    "moderator:read:followers", "user:read:chat",
}))  # fmt: skip
DEFAULT_BOT = SimUser(
    "2000", "ttsbot", "TTSBot", frozenset({"user:read:chat", "user:write:chat", "user:bot"})
)
MAX_CHAT_CHARS = 500  # Twitch's limit for one chat message
MAX_REMEMBERED_MESSAGES = 2000  # chat kept to find a deleted message's author
KEEPALIVE_RANGE_S = (10, 600)  # what Twitch accepts for keepalive_timeout_seconds
CLOSE_HANDSHAKE_S = 3.0  # how long our close waits for the client's reply


class _Fail(Exception):
    """An error answered in Twitch's shape: Helix's has ``error``, id.twitch.tv's does not."""

    def __init__(self, status: int, message: str, *, oauth: bool = False) -> None:
        super().__init__(message)
        self.status, self.message, self.oauth = status, message, oauth

    def response(self) -> web.Response:
        body = {"status": self.status, "message": self.message}
        return _json(body if self.oauth else p.error_body(self.status, self.message), self.status)


@dataclass(frozen=True, slots=True)
class SimRequest:
    """One HTTP request as the simulator saw it; ``user_id`` is the token's user, if any."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    user_id: str | None
    status: int


@dataclass(slots=True)
class _Token:
    user_id: str | None  # None: an app token
    scopes: frozenset[str]
    expires_at: float  # time.monotonic()


_BODY = web.RequestKey("body", object)  # the parsed JSON or form body, or None
_TOKEN = web.RequestKey("token", _Token)  # set once the request's token is known good


@dataclass(slots=True)
class _Session:
    id: str
    ws: web.WebSocketResponse
    transport: asyncio.BaseTransport | None
    keepalive_s: int
    connected_at: str = field(default_factory=p.timestamp)
    last_sent: float = 0.0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # (code, reason) for the handler to close with; it alone reads the socket, so the close
    # handshake completes (aiohttp closing under a reader cuts it short: the client sees 1006)
    close_request: asyncio.Future[tuple[int, str]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    closed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(slots=True)
class _Sub:
    id: str
    type: str
    version: str
    condition: dict[str, str]
    session_id: str
    user_id: str
    created_at: str = field(default_factory=p.timestamp)

    def twitch(self) -> Event:
        return p.subscription_object(
            self.id, self.type, self.version, self.condition, self.session_id, self.created_at
        )

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Twitch filters on the condition; ``user_id``/``moderator_user_id`` name the reader."""
        for key, want in self.condition.items():
            if not want or key in ("user_id", "moderator_user_id"):
                continue
            if key == "reward_id":
                have = (event.get("reward") or {}).get("id")
            else:
                have = event.get(key, want)  # a key the event lacks filters nothing
            if have != want:
                return False
        return True


class TwitchSim:
    """The simulated Twitch: ``async with TwitchSim() as sim:`` (see the module doc).

    ``min_keepalive_s`` below Twitch's 10 lets raw-socket tests run fast.
    """

    def __init__(
        self,
        *,
        users: Iterable[SimUser] = (),
        broadcaster: SimUser = DEFAULT_BROADCASTER,
        bot: SimUser = DEFAULT_BOT,
        moderators: Iterable[str] | None = None,
        client_id: str = "sim-client-id",
        client_secret: str = "sim-client-secret",
        host: str = "127.0.0.1",
        port: int = 0,
        min_keepalive_s: int = KEEPALIVE_RANGE_S[0],
        reconnect_grace_s: float = 30.0,
        token_lifetime_s: int = 14_400,
    ) -> None:
        self.broadcaster, self.bot = broadcaster, bot
        self.client_id, self.client_secret = client_id, client_secret
        self.host, self.port = host, port
        self.min_keepalive_s, self.reconnect_grace_s = min_keepalive_s, reconnect_grace_s
        self.token_lifetime_s = token_lifetime_s
        self.send_keepalives = True  # False: go silent, as a stalled Twitch edge would
        self.authorize_login = bot.login  # who approves /oauth2/authorize (or its ?sim_login=)
        self.moderators: set[str] = set(moderators if moderators is not None else [bot.login])
        self._users = {u.login: u for u in (broadcaster, bot, *users)}
        self._tokens: dict[str, _Token] = {}
        self._refresh: dict[str, tuple[str, frozenset[str]]] = {}
        self._codes: dict[str, tuple[str, frozenset[str], str]] = {}
        self.user_tokens: dict[str, tuple[str, str]] = {}  # login -> newest (access, refresh)
        self._sessions: dict[str, _Session] = {}
        self._subs: dict[str, _Sub] = {}
        self._messages: dict[str, Event] = {}
        self._rewards: dict[str, Event] = {}
        self._gift_totals: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None
        for user in self._users.values():
            if user.scopes:
                self._issue(user.id, user.scopes)
        self.requests: list[SimRequest] = []
        self.sent_chat: list[Event] = []
        self.delivered: list[Event] = []  # every notification sent, in order

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve on ``host:port`` (port 0: any free port, then :attr:`port` holds it)."""
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post("/oauth2/token", self._h_token)
        app.router.add_get("/oauth2/validate", self._h_validate)
        app.router.add_get("/oauth2/authorize", self._h_authorize)
        app.router.add_get("/helix/users", self._h_users)
        app.router.add_route("*", "/helix/eventsub/subscriptions", self._h_eventsub)
        app.router.add_post("/helix/chat/messages", self._h_chat)
        app.router.add_get("/helix/bits/cheermotes", self._h_cheermotes)
        app.router.add_get("/ws", self._h_ws)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        """Close every socket (1001) and the server. Close bots first, or they retry forever."""
        for session in list(self._sessions.values()):
            await self._close(session, 1001, "server shutting down")
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TwitchSim:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    @property
    def endpoints(self) -> dict[str, str]:
        """The values for ``twitch.endpoints`` in config: ``api``, ``auth``, ``eventsub``."""
        return {"api": f"{self.url}/helix/", "auth": f"{self.url}/", "eventsub": self.ws_url}

    @property
    def subscriptions(self) -> list[Event]:
        """Live subscriptions, as Twitch lists them."""
        return [sub.twitch() for sub in self._subs.values()]

    @property
    def live_sessions(self) -> list[str]:
        return [s.id for s in self._sessions.values() if not s.ws.closed]

    def user(self, who: str | SimUser) -> SimUser:
        """A user by login; an unknown login becomes a new viewer, so scripts need no cast list."""
        if isinstance(who, SimUser):
            return self._users.setdefault(who.login, who)
        login = who.lower().lstrip("@")
        if login not in self._users:
            self._users[login] = SimUser(str(900_000 + len(self._users)), login, who.lstrip("@"))
        return self._users[login]

    def _by_id(self, user_id: str) -> SimUser:
        found = next((u for u in self._users.values() if u.id == user_id), None)
        if found is None:
            raise _Fail(400, f"unknown user id {user_id}")
        return found

    # --- tokens ------------------------------------------------------------------------------

    def _issue(self, user_id: str | None, scopes: frozenset[str], refresh: str = "") -> Event:
        access = secrets.token_hex(15)
        self._tokens[access] = _Token(user_id, scopes, _now() + self.token_lifetime_s)
        body: Event = {
            "access_token": access,
            "expires_in": self.token_lifetime_s,
            "token_type": "bearer",
        }
        if user_id is None:
            return body
        refresh = refresh or secrets.token_hex(25)
        self._refresh[refresh] = (user_id, scopes)
        self.user_tokens[self._by_id(user_id).login] = (access, refresh)
        return body | {"refresh_token": refresh, "scope": sorted(scopes)}

    def expire_token(self, login: str) -> None:
        """Invalidate a user's access tokens (the refresh token stays good): tests refreshing."""
        user_id = self.user(login).id
        for access in [a for a, t in self._tokens.items() if t.user_id == user_id]:
            del self._tokens[access]

    def write_tokens_file(self, path: str | os.PathLike[str], logins: Sequence[str] = ()) -> Path:
        """Write TwitchIO's token file for the bot and broadcaster (or ``logins``), mode 0600."""
        now = datetime.datetime.now().isoformat()
        data = {}
        for login in logins or (self.bot.login, self.broadcaster.login):
            user, (access, refresh) = self.user(login), self.user_tokens[login]
            data[user.id] = {
                "user_id": user.id,
                "token": access,
                "refresh": refresh,
                "last_validated": now,
            }
        target = Path(path)
        with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
            json.dump(data, fh, indent=2)
        return target

    def _granted(self, user_id: str) -> frozenset[str]:
        return frozenset().union(*(t.scopes for t in self._tokens.values() if t.user_id == user_id))

    def _token(self, header: str) -> _Token | None:
        token = self._tokens.get(header.removeprefix("Bearer ").removeprefix("OAuth "))
        return token if token is not None and token.expires_at > _now() else None

    # --- HTTP --------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[..., Any]
    ) -> web.StreamResponse:
        """Record each request, authenticate Helix calls, answer failures in Twitch's shape."""
        body: Any = None
        if request.content_type == "application/json" and request.can_read_body:
            with contextlib.suppress(ValueError):  # malformed: handlers see no body (400)
                body = await request.json()
        elif request.content_type == "application/x-www-form-urlencoded":
            body = dict(await request.post())
        request[_BODY], status = body, 500
        try:
            if request.path.startswith("/helix/"):
                token = self._token(request.headers.get("Authorization", ""))
                if token is None:
                    raise _Fail(401, "Invalid OAuth token")
                request[_TOKEN] = token
                if request.headers.get("Client-Id") != self.client_id:
                    raise _Fail(401, "Client ID and OAuth token do not match")
            response = await handler(request)
            status = response.status
            return response
        except _Fail as fail:
            status = fail.status
            return fail.response()
        except web.HTTPException as exc:  # unknown routes and methods; redirects pass
            status = exc.status
            if status < 400:
                raise
            return _Fail(status, exc.reason).response()
        finally:
            if request.path != "/ws":
                query = {k: request.query.getall(k) for k in request.query}
                user_id = token.user_id if (token := request.get(_TOKEN)) else None
                self.requests.append(
                    SimRequest(request.method, request.path, query, body, user_id, status)
                )

    async def _h_token(self, request: web.Request) -> web.Response:
        """Client credentials, refresh, and authorisation code (TwitchIO sends them as query)."""
        args = {**_mapping(request[_BODY]), **request.query}
        if args.get("client_id") != self.client_id:
            raise _Fail(400, "invalid client", oauth=True)
        if args.get("client_secret") != self.client_secret:
            raise _Fail(403, "invalid client secret", oauth=True)
        match args.get("grant_type"):
            case "client_credentials":
                return _json(self._issue(None, frozenset()))
            case "refresh_token" if (refresh := args.get("refresh_token", "")) in self._refresh:
                return _json(self._issue(*self._refresh[refresh], refresh=refresh))
            case "refresh_token":
                raise _Fail(400, "Invalid refresh token", oauth=True)
            case "authorization_code":
                code = self._codes.pop(args.get("code", ""), None)
                if code is None or args.get("redirect_uri") != code[2]:
                    raise _Fail(400, "Invalid authorization code", oauth=True)
                return _json(self._issue(code[0], code[1]))
        raise _Fail(400, "Invalid grant type", oauth=True)

    async def _h_validate(self, request: web.Request) -> web.Response:
        token = self._token(request.headers.get("Authorization", ""))
        if token is None:
            raise _Fail(401, "invalid access token", oauth=True)
        request[_TOKEN] = token
        body: Event = {"client_id": self.client_id, "scopes": sorted(token.scopes)}
        if token.user_id is not None:
            body |= {"login": self._by_id(token.user_id).login, "user_id": token.user_id}
        return _json(body | {"expires_in": int(token.expires_at - _now())})

    async def _h_authorize(self, request: web.Request) -> web.Response:
        """Approve at once as :attr:`authorize_login` (or ``?sim_login=``); redirect with a code."""
        q = request.query
        user, code = self.user(q.get("sim_login", self.authorize_login)), secrets.token_hex(15)
        scope, redirect = q.get("scope", ""), q.get("redirect_uri", "")
        self._codes[code] = (user.id, frozenset(scope.split()), redirect)
        answer = {"code": code, "scope": scope, "state": q.get("state", "")}
        raise web.HTTPFound(str(URL(redirect).with_query(answer)))

    async def _h_users(self, request: web.Request) -> web.Response:
        ids, logins = request.query.getall("id", []), request.query.getall("login", [])
        if not ids and not logins:  # the token's own user
            if (user_id := request[_TOKEN].user_id) is None:
                raise _Fail(400, "Must provide an ID, Login or OAuth Token")
            ids = [user_id]
        wanted = {x.lower() for x in logins}
        found = [u for u in self._users.values() if u.id in ids or u.login in wanted]
        return _json({"data": [p.user_data(u) for u in found]})

    async def _h_cheermotes(self, request: web.Request) -> web.Response:
        return _json({"data": p.cheermotes_data()})

    async def _h_eventsub(self, request: web.Request) -> web.Response:
        token = request[_TOKEN]
        mine = [s for s in self._subs.values() if token.user_id in (None, s.user_id)]
        totals = {"total": len(mine), "total_cost": 0, "max_total_cost": 10}
        if request.method == "GET":
            q = request.query
            found = [s for s in mine if q.get("type", s.type) == s.type]
            found = found if q.get("status", "enabled") == "enabled" else []
            return _json({"data": [s.twitch() for s in found], **totals, "pagination": {}})
        if request.method == "DELETE":
            sub = next((s for s in mine if s.id == request.query.get("id")), None)
            if sub is None:
                raise _Fail(404, "subscription not found")
            del self._subs[sub.id]
            return web.Response(status=204)
        if request.method != "POST":
            raise _Fail(405, "method not allowed")
        sub = self._check_subscription(_mapping(request[_BODY]), token)
        self._subs[sub.id] = sub
        created = sub.twitch()
        created["transport"]["connected_at"] = self._sessions[sub.session_id].connected_at
        return _json({"data": [created], **totals, "total": totals["total"] + 1}, 202)

    def _check_subscription(self, body: Mapping[str, Any], token: _Token) -> _Sub:
        """Twitch's checks for a WebSocket subscription, in Twitch's order and words."""
        sub_type, version = body.get("type", ""), body.get("version", "")
        transport, condition = body.get("transport") or {}, dict(body.get("condition") or {})
        if transport.get("method") != "websocket":
            raise _Fail(400, "the simulator supports only the websocket transport")
        if token.user_id is None:
            raise _Fail(400, "websocket transports require a user access token")
        session = self._sessions.get(transport.get("session_id", ""))
        if session is None or session.ws.closed:
            gone = "websocket transport session does not exist or has already disconnected"
            raise _Fail(400, gone)
        rule = p.SUBSCRIPTION_RULES.get(sub_type)
        if rule is None or rule.version != version:
            raise _Fail(400, f"unsupported subscription type and version: {sub_type} v{version}")
        if sub_type == "channel.raid":  # exactly one direction
            valid = (
                sum(bool(condition.get(f"{d}_broadcaster_user_id")) for d in ("to", "from")) == 1
            )
        else:
            valid = all(condition.get(key) for key in rule.condition)
        if not valid:
            raise _Fail(400, "invalid condition")
        reader = condition.get(rule.token_user_key or "")
        allowed = not rule.scopes or (reader == token.user_id and bool(rule.scopes & token.scopes))
        if sub_type == "channel.follow" and reader != condition["broadcaster_user_id"]:
            allowed = allowed and self._by_id(token.user_id).login in self.moderators
        if not allowed:
            raise _Fail(403, "subscription missing proper authorization")
        key = (sub_type, condition, session.id)
        if any((s.type, s.condition, s.session_id) == key for s in self._subs.values()):
            raise _Fail(409, "subscription already exists")
        return _Sub(str(uuid.uuid4()), sub_type, version, condition, session.id, token.user_id)

    async def _h_chat(self, request: web.Request) -> web.Response:
        """Record the bot's message, if Twitch would let the sender speak in that channel."""
        token, body = request[_TOKEN], _mapping(request[_BODY])
        text, sender_id = body.get("message"), str(body.get("sender_id"))
        broadcaster_id = str(body.get("broadcaster_id") or "")
        if not broadcaster_id or not isinstance(text, str):
            raise _Fail(400, "Missing required parameter")
        if len(text) > MAX_CHAT_CHARS:
            raise _Fail(400, f"The message may not exceed {MAX_CHAT_CHARS} characters")
        sender = self._by_id(sender_id)
        if token.user_id is not None:  # a user token speaks for its own user
            allowed = token.user_id == sender_id and "user:write:chat" in token.scopes
        else:  # an app token: the bot's user:bot, and the channel's channel:bot or a mod bot
            welcome = "channel:bot" in self._granted(broadcaster_id)
            in_channel = welcome or sender.login in self.moderators
            allowed = in_channel and {"user:write:chat", "user:bot"} <= self._granted(sender_id)
        if not allowed:
            raise _Fail(403, "The sender is not permitted to send chat messages to this channel")
        message_id = str(uuid.uuid4())
        self.sent_chat.append({**body, "message_id": message_id})
        return _json({"data": [{"message_id": message_id, "is_sent": True, "drop_reason": None}]})

    # --- EventSub WebSocket ------------------------------------------------------------------

    async def _h_ws(self, request: web.Request) -> web.StreamResponse:
        """A session: welcome, keepalives, notifications; a client message closes it (4001)."""
        keepalive = request.query.get("keepalive_timeout_seconds", "10")
        low, high = self.min_keepalive_s, KEEPALIVE_RANGE_S[1]
        if not (keepalive.isdigit() and low <= int(keepalive) <= high):
            raise _Fail(400, f"keepalive_timeout_seconds must be between {low} and {high}")
        ws = web.WebSocketResponse(timeout=CLOSE_HANDSHAKE_S)
        await ws.prepare(request)
        session = _Session(p.new_session_id(), ws, request.transport, int(keepalive))
        self._sessions[session.id] = session
        old = self._sessions.get(request.query.get("reconnect_id", ""))
        for sub in self._subs.values():  # a reconnect keeps its subscriptions
            if old is not None and sub.session_id == old.id:
                sub.session_id = session.id
        welcome = p.session_message(
            "session_welcome",
            session.id,
            connected_at=session.connected_at,
            keepalive_s=session.keepalive_s,
        )
        await self._send(session, welcome)
        if old is not None:  # then Twitch closes the old socket
            self._request_close(old, 4004, "client reconnect grace time expired")
        elif "reconnect_id" in request.query:
            self._request_close(session, 4007, "invalid reconnect attempt")
        session.tasks.append(asyncio.create_task(self._keepalive(session)))
        try:
            await self._read_until_closed(session)
        finally:
            self._forget(session)
            session.closed.set()
        return ws

    async def _read_until_closed(self, session: _Session) -> None:
        ws = session.ws
        while not ws.closed:
            receive = asyncio.ensure_future(ws.receive())
            await asyncio.wait(
                [receive, session.close_request], return_when=asyncio.FIRST_COMPLETED
            )
            if not receive.done():  # asked to close: stop reading, then close with a handshake
                receive.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await receive
                code, reason = session.close_request.result()
                await ws.close(code=code, message=reason.encode())
                return
            kind = receive.result().type
            if kind in (WSMsgType.TEXT, WSMsgType.BINARY):  # Twitch forbids client messages
                await ws.close(code=4001, message=b"sent inbound traffic")
            elif kind not in (WSMsgType.PING, WSMsgType.PONG):  # closed, closing, or broken
                return

    async def _send(self, session: _Session, message: Mapping[str, Any]) -> bool:
        if session.ws.closed:
            return False
        try:
            await session.ws.send_str(json.dumps(message))
        except (ConnectionError, RuntimeError):
            return False
        session.last_sent = _now()
        return True

    async def _keepalive(self, session: _Session) -> None:
        """A keepalive after each ``keepalive_s`` without any message, as Twitch sends them."""
        while not session.ws.closed:
            await asyncio.sleep(max(0.0, session.last_sent + session.keepalive_s - _now()))
            if _now() < session.last_sent + session.keepalive_s:
                continue
            if self.send_keepalives:
                await self._send(session, p.session_message("session_keepalive"))
            else:
                await asyncio.sleep(session.keepalive_s)

    def _request_close(self, session: _Session, code: int, reason: str) -> None:
        if not session.close_request.done():
            session.close_request.set_result((code, reason))

    async def _close(self, session: _Session, code: int, reason: str) -> None:
        self._request_close(session, code, reason)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(session.closed.wait(), CLOSE_HANDSHAKE_S + 1)

    def _forget(self, session: _Session) -> None:
        """A closed session loses its subscriptions (Twitch: ``websocket_disconnected``)."""
        if self._sessions.pop(session.id, None) is None:
            return
        for sub_id in [s.id for s in self._subs.values() if s.session_id == session.id]:
            del self._subs[sub_id]
        for task in session.tasks:
            if task is not asyncio.current_task():
                task.cancel()

    async def reconnect(self) -> list[str]:
        """Send ``session_reconnect`` to every session; returns the old session ids.

        Events go to the old socket until the client connects to ``reconnect_url``;
        then (or after ``reconnect_grace_s``) the old socket closes with 4004.
        """
        old = [s for s in self._sessions.values() if not s.ws.closed]
        for session in old:
            query = f"reconnect_id={session.id}&keepalive_timeout_seconds={session.keepalive_s}"
            url, since = f"{self.ws_url}?{query}", session.connected_at
            message = p.session_message(
                "session_reconnect", session.id, connected_at=since, reconnect_url=url
            )
            await self._send(session, message)
            session.tasks.append(asyncio.create_task(self._grace(session)))
        return [s.id for s in old]

    async def _grace(self, session: _Session) -> None:
        await asyncio.sleep(self.reconnect_grace_s)
        await self._close(session, 4004, "client reconnect grace time expired")

    async def drop_sockets(self) -> int:
        """Cut every socket without a close frame, as a network failure does; returns how many.

        Returns once the server has dropped those sessions and their subscriptions.
        """
        sessions = [s for s in self._sessions.values() if not s.ws.closed]
        for session in sessions:
            if isinstance(session.transport, asyncio.WriteTransport):
                session.transport.abort()
        for session in sessions:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.closed.wait(), CLOSE_HANDSHAKE_S)
        return len(sessions)

    async def revoke(self, subscription_type: str, *, status: str = "authorization_revoked") -> int:
        """Send ``revocation`` for each subscription of that type, and drop them."""
        subs = [s for s in self._subs.values() if s.type == subscription_type]
        for sub in subs:
            del self._subs[sub.id]
            if session := self._sessions.get(sub.session_id):
                revocation = p.session_message(
                    "revocation", subscription=sub.twitch() | {"status": status}
                )
                await self._send(session, revocation)
        return len(subs)

    async def send_raw(
        self, subscription_type: str, event: Event, *, message_id: str | None = None
    ) -> int:
        """Notify each matching subscription; returns how many got it.

        Any dict goes (to test bad payloads); the same ``message_id`` again is a redelivery.
        """
        sent, subs = 0, [s for s in self._subs.values() if s.type == subscription_type]
        for sub in [s for s in subs if s.matches(event)]:
            session = self._sessions.get(sub.session_id)
            message = p.notification_message(sub.twitch(), event, message_id=message_id)
            if session is not None and await self._send(session, message):
                self.delivered.append(message)
                sent += 1
        return sent

    async def _emit(self, notices: Iterable[tuple[str, Event]]) -> None:
        for sub_type, event in notices:
            if sub_type == "channel.chat.message":
                self._messages[event["message_id"]] = event
                while len(self._messages) > MAX_REMEMBERED_MESSAGES:
                    del self._messages[next(iter(self._messages))]
            await self.send_raw(sub_type, event)

    # --- waiting, for tests ------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None = 5.0) -> None:
        """Poll ``predicate`` until true; ``TimeoutError`` after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.01)

    async def wait_subscribed(self, types: Iterable[str], timeout: float | None = 5.0) -> None:
        wanted = set(types)
        await self.wait_until(lambda: wanted <= {s.type for s in self._subs.values()}, timeout)

    async def wait_sent_chat(self, count: int = 1, timeout: float | None = 5.0) -> list[Event]:
        await self.wait_until(lambda: len(self.sent_chat) >= count, timeout)
        return list(self.sent_chat)

    # --- things happening on the channel -----------------------------------------------------

    async def chat(
        self,
        user: str | SimUser,
        text: str,
        *,
        badges: Iterable[str | Mapping[str, str]] | None = None,
        cheer_bits: int | None = None,
        fragments: Sequence[Event] | None = None,
        message_id: str | None = None,
        reward_id: str | None = None,
    ) -> Event:
        """A chat message; returns the event (its ``["message_id"]`` is what a delete names).

        Badges default to what Twitch shows: broadcaster, or moderator for :attr:`moderators`.
        """
        who = self.user(user)
        if badges is None and who == self.broadcaster:
            badges = ["broadcaster"]
        elif badges is None:
            badges = ["moderator"] if who.login in self.moderators else []
        event = p.chat_message_event(
            self.broadcaster, who, text, badges=badges, cheer_bits=cheer_bits, fragments=fragments,
            message_id=message_id, reward_id=reward_id, users=self._users,
        )  # fmt: skip
        await self._emit([("channel.chat.message", event)])
        return event

    async def cheer(
        self, user: str | SimUser, bits: int, text: str = "", *, anonymous: bool = False
    ) -> Event:
        """Bits in chat: the chat message and ``channel.cheer``; returns the chat event."""
        who = None if anonymous else self.user(user)
        notices = p.cheer_events(self.broadcaster, who, bits, text)
        await self._emit(notices)
        return notices[0][1]

    async def sub(self, user: str | SimUser, *, tier: str = "1000", is_prime: bool = False) -> None:
        await self._emit(p.sub_events(self.broadcaster, self.user(user), tier, is_prime=is_prime))

    async def resub(
        self,
        user: str | SimUser,
        months: int,
        text: str = "",
        *,
        tier: str = "1000",
        streak: int | None = None,
        is_prime: bool = False,
    ) -> None:
        """A resub shared with ``text``: the chat notice and ``channel.subscription.message``."""
        who, b = self.user(user), self.broadcaster
        notices = p.resub_events(b, who, months, text, tier=tier, streak=streak, is_prime=is_prime)
        await self._emit(notices)

    async def sub_gift(
        self, gifter: str | SimUser | None, recipient: str | SimUser, *, tier: str = "1000"
    ) -> None:
        """One gifted sub; ``gifter=None`` is anonymous."""
        giver, to = self._count_gifts(gifter, 1), self.user(recipient)
        total = self._gift_totals[giver.id] if giver else None
        await self._emit(p.sub_gift_events(self.broadcaster, giver, to, tier, cumulative=total))

    async def community_gift(
        self, gifter: str | SimUser | None, count: int, *, tier: str = "1000"
    ) -> list[SimUser]:
        """A mystery gift to ``count`` new viewers; returns them."""
        giver = self._count_gifts(gifter, count)
        recipients = [self.user(f"giftee{len(self._users) + 1}") for _ in range(count)]
        total = self._gift_totals[giver.id] if giver else None
        notices = p.community_gift_events(
            self.broadcaster, giver, recipients, tier, cumulative=total
        )
        await self._emit(notices)
        return recipients

    def _count_gifts(self, gifter: str | SimUser | None, count: int) -> SimUser | None:
        giver = self.user(gifter) if gifter else None
        if giver:
            self._gift_totals[giver.id] += count
        return giver

    async def raid(self, raider: str | SimUser, viewers: int = 10) -> None:
        await self._emit(p.raid_events(self.broadcaster, self.user(raider), viewers))

    async def redeem(
        self, user: str | SimUser, reward_title: str, text: str = "", *, cost: int = 100
    ) -> Event:
        """A channel-points redemption; with input it also shows in chat, tagged with the reward."""
        who = self.user(user)
        reward = self._rewards.setdefault(
            reward_title,
            {"id": str(uuid.uuid4()), "title": reward_title, "cost": cost, "prompt": ""},
        )
        event = p.redemption_add_event(self.broadcaster, who, reward, text)
        await self._emit([("channel.channel_points_custom_reward_redemption.add", event)])
        if text:
            await self.chat(who, text, reward_id=reward["id"])
        return event

    async def follow(self, user: str | SimUser) -> Event:
        event = p.follow_event(self.broadcaster, self.user(user))
        await self._emit([("channel.follow", event)])
        return event

    async def delete_message(self, message_id: str) -> Event:
        """A moderator deletes one message; its author comes from the chat seen so far."""
        original = self._messages.get(message_id)
        author = self.user(original["chatter_user_login"]) if original else self.bot
        event = p.message_delete_event(self.broadcaster, author, message_id)
        await self._emit([("channel.chat.message_delete", event)])
        return event

    async def clear_user(self, user: str | SimUser) -> Event:
        """A timeout or ban: Twitch clears that user's messages."""
        event = p.clear_user_messages_event(self.broadcaster, self.user(user))
        await self._emit([("channel.chat.clear_user_messages", event)])
        return event

    async def clear_chat(self) -> Event:
        """A moderator's ``/clear``: everything said so far is gone."""
        event = p.chat_clear_event(self.broadcaster)
        await self._emit([("channel.chat.clear", event)])
        return event

    def last_message_of(self, user: str | SimUser) -> str | None:
        login = self.user(user).login
        mine = (m for m, e in reversed(self._messages.items()) if e["chatter_user_login"] == login)
        return next(mine, None)

    # --- scripts -----------------------------------------------------------------------------

    async def play(self, script: Sequence[Mapping[str, Any]], *, speed: float = 1.0) -> None:
        """Play script steps (see :func:`load_script`) at ``at`` seconds divided by ``speed``."""
        steps = validate_script(script)
        start = _now()
        for step in steps:
            await asyncio.sleep(max(0.0, start + step["at"] / speed - _now()))
            await self._play(step)

    async def _play(self, s: Mapping[str, Any]) -> None:
        user, text, tier = s.get("user"), s.get("text", ""), _tier(s.get("tier", 1))
        match s["do"]:
            case "chat":
                await self.chat(user, text, badges=s.get("badges"), message_id=s.get("message_id"))
            case "cheer":
                await self.cheer(user, int(s["bits"]), text, anonymous=s.get("anonymous", False))
            case "sub":
                await self.sub(user, tier=tier, is_prime=s.get("prime", False))
            case "resub":
                streak, prime = s.get("streak"), s.get("prime", False)
                await self.resub(
                    user, int(s["months"]), text, tier=tier, streak=streak, is_prime=prime
                )
            case "gift":
                await self.sub_gift(user, s["to"], tier=tier)
            case "community_gift":
                await self.community_gift(user, int(s["count"]), tier=tier)
            case "raid":
                await self.raid(user, int(s.get("viewers", 10)))
            case "redeem":
                await self.redeem(user, s["reward"], text)
            case "follow":
                await self.follow(user)
            case "delete":
                if message_id := s.get("message_id") or self.last_message_of(user):
                    await self.delete_message(message_id)
            case "timeout" | "ban":
                await self.clear_user(user)
            case "clear":
                await self.clear_chat()
            case "reconnect":
                await self.reconnect()
            case "drop":
                await self.drop_sockets()

    def config_snippet(self, tokens_file: str | os.PathLike[str]) -> str:
        """The ``twitch:`` block of ``config.yaml`` that points the daemon here."""
        twitch = {
            "client_id": self.client_id, "client_secret": self.client_secret, "bot_id": self.bot.id,
            "owner_id": self.broadcaster.id, "tokens_file": str(Path(tokens_file).resolve()),
            "endpoints": self.endpoints,
        }  # fmt: skip
        return yaml.safe_dump({"twitch": twitch}, sort_keys=False)


class ScriptError(ValueError):
    """A script step that cannot be played; the message names the step."""


# action -> (required keys, optional keys); a gift's "user" may be null for an anonymous gifter
_SCRIPT_ARGS: dict[str, tuple[set[str], set[str]]] = {
    "chat": ({"user", "text"}, {"badges", "message_id"}),
    "cheer": ({"user", "bits"}, {"text", "anonymous"}),
    "sub": ({"user"}, {"tier", "prime"}),
    "resub": ({"user", "months"}, {"text", "tier", "streak", "prime"}),
    "gift": ({"to"}, {"user", "tier"}),
    "community_gift": ({"count"}, {"user", "tier"}),
    "raid": ({"user"}, {"viewers"}),
    "redeem": ({"user", "reward"}, {"text"}),
    "follow": ({"user"}, set()),
    "delete": (set(), {"message_id", "user"}),
    "timeout": ({"user"}, {"seconds"}),
    "ban": ({"user"}, {"reason"}),
    "clear": (set(), set()),
    "reconnect": (set(), set()),
    "drop": (set(), set()),
}


def validate_script(script: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check every step before any plays, so a typo fails at load, not mid-demo; sort by ``at``."""
    steps = []
    for i, step in enumerate(script):
        if not isinstance(step, Mapping) or step.get("do") not in _SCRIPT_ARGS:
            raise ScriptError(f"step {i}: 'do' must be one of {', '.join(_SCRIPT_ARGS)}")
        at, required, optional = step.get("at"), *_SCRIPT_ARGS[step["do"]]
        if isinstance(at, bool) or not isinstance(at, int | float) or at < 0:
            raise ScriptError(f"step {i} ({step['do']}): 'at' must be seconds >= 0")
        keys = set(step) - {"at", "do"}
        if missing := required - keys:
            raise ScriptError(f"step {i} ({step['do']}): missing {', '.join(sorted(missing))}")
        if unknown := keys - required - optional:
            raise ScriptError(f"step {i} ({step['do']}): unknown {', '.join(sorted(unknown))}")
        if step["do"] == "delete" and not keys:
            raise ScriptError(f"step {i} (delete): needs message_id or user")
        _tier(step.get("tier", 1), f"step {i} ({step['do']}): ")
        steps.append(dict(step))
    return sorted(steps, key=lambda s: s["at"])


def load_script(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """A YAML list of steps (or ``{script: [...]}``), or a Python file defining ``SCRIPT``."""
    path = Path(path)
    if path.suffix == ".py":
        data: Any = runpy.run_path(str(path)).get("SCRIPT")
    else:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data = data.get("script") if isinstance(data, dict) else data
    if not isinstance(data, list):
        raise ScriptError(f"{path}: expected a list of steps")
    return validate_script(data)


def _tier(value: object, where: str = "") -> str:
    tier = {"1": "1000", "2": "2000", "3": "3000"}.get(str(value), str(value))
    if tier not in ("1000", "2000", "3000"):
        raise ScriptError(f"{where}tier must be 1, 2 or 3, not {value!r}")
    return tier


def _mapping(body: object) -> Mapping[str, Any]:
    return body if isinstance(body, Mapping) else {}


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _now() -> float:
    return time.monotonic()


async def _serve(args: argparse.Namespace, script: list[dict[str, Any]] | None) -> None:
    serving = asyncio.current_task()
    assert serving is not None
    for sig in (signal.SIGINT, signal.SIGTERM):  # stop cleanly: clients get 1001, not a reset
        asyncio.get_running_loop().add_signal_handler(sig, serving.cancel)
    async with TwitchSim(host=args.host, port=args.port) as sim:
        sim.write_tokens_file(args.tokens)
        snippet = sim.config_snippet(args.tokens)
        print(f"Twitch simulator on {sim.url}; for config.yaml:\n\n{snippet}", flush=True)
        with contextlib.suppress(asyncio.CancelledError):
            if script is not None:
                print("Waiting for the bot to subscribe to channel.chat.message ...", flush=True)
                await sim.wait_subscribed(["channel.chat.message"], timeout=None)
                await sim.play(script, speed=args.speed)
                print("Script finished; still serving (Ctrl-C stops).", flush=True)
            await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m streamer_tts.twitch.sim", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--script", type=Path, help="YAML or .py steps to play once the bot is in")
    parser.add_argument("--speed", type=float, default=1.0, help="script time divisor, 2: faster")
    parser.add_argument(
        "--tokens", type=Path, default=Path("sim.tokens.json"), help="file to write"
    )
    args = parser.parse_args(argv)
    try:
        script = load_script(args.script) if args.script else None
    except (OSError, yaml.YAMLError, ScriptError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args, script))
    return 0


if __name__ == "__main__":
    sys.exit(main())
