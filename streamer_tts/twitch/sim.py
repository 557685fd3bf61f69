"""A local Twitch for tests and the demo: OAuth, Helix and an EventSub WebSocket on one port.

Twitch is unreachable from tests and from a streamer trying the demo, so this
plays its part closely enough that an unmodified TwitchIO bot runs against it:
point ``twitchio.http.Route.BASE``/``ID_BASE`` and
``twitchio.eventsub.websockets.WSS`` at :attr:`TwitchSim.endpoints`.
Subscriptions are checked as Twitch checks them (live session, condition,
scopes: 403 otherwise), and a notification reaches only the sessions holding a
matching subscription. Payloads come from :mod:`.sim_payloads`.

Run by hand: ``python -m streamer_tts.twitch.sim --port 8080 [--script demo.yaml]``.
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
import sys
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from aiohttp import WSMsgType, web

from . import sim_payloads as p
from .sim_payloads import SimUser

__all__ = ["DEFAULT_BOT", "DEFAULT_BROADCASTER", "ScriptError", "SimRequest", "SimUser", "TwitchSim", "load_script"]

DEFAULT_BROADCASTER = SimUser(
    "1000", "streamer", "Streamer",
    frozenset({"channel:bot", "bits:read", "channel:read:subscriptions", "channel:read:redemptions",
               "moderator:read:followers", "moderation:read", "user:read:chat"}),
)  # fmt: skip
DEFAULT_BOT = SimUser("2000", "ttsbot", "TTSBot", frozenset({"user:read:chat", "user:write:chat", "user:bot"}))
ANONYMOUS_CHEERER = SimUser("407665396", "ananonymouscheerer", "AnAnonymousCheerer")
MAX_CHAT_CHARS = 500  # Twitch's limit for one chat message
MAX_REMEMBERED_MESSAGES = 2000  # chat kept for delete-by-user and reply lookups
MAX_KEEPALIVE_S = 600  # Twitch accepts 10..600


class _Fail(Exception):
    """An error answered in Twitch's shape: Helix has ``error``, id.twitch.tv does not."""

    def __init__(self, status: int, message: str, *, oauth: bool = False) -> None:
        super().__init__(message)
        self.status, self.message, self.oauth = status, message, oauth

    def response(self) -> web.Response:
        body = {"status": self.status, "message": self.message} if self.oauth else p.error_body(self.status, self.message)
        return web.json_response(body, status=self.status)


@dataclass(frozen=True, slots=True)
class SimRequest:
    """One HTTP request as the simulator saw it (``user_id`` is the token's user, if any)."""

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
    expires_at: float


@dataclass(slots=True)
class _Session:
    id: str
    ws: web.WebSocketResponse
    transport: asyncio.BaseTransport | None
    keepalive_s: int
    connected_at: str
    last_sent: float = 0.0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


@dataclass(slots=True)
class _Sub:
    id: str
    type: str
    version: str
    condition: dict[str, str]
    session_id: str
    user_id: str
    created_at: str = field(default_factory=p.timestamp)

    def twitch(self, connected_at: str | None = None) -> dict[str, Any]:
        return p.subscription_object(
            self.id, self.type, self.version, self.condition, self.session_id, self.created_at, connected_at=connected_at
        )

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Twitch filters by the condition; ``user_id``/``moderator_user_id`` only name the reader."""
        for key, want in self.condition.items():
            if not want or key in ("user_id", "moderator_user_id"):
                continue
            have = (event.get("reward") or {}).get("id") if key == "reward_id" else event.get(key, want)
            if have != want:
                return False
        return True


class TwitchSim:
    """The simulated Twitch. Use as ``async with TwitchSim() as sim:``; see the module doc."""

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
        min_keepalive_s: int = 10,
        unused_timeout_s: float | None = 10.0,
        reconnect_grace_s: float = 30.0,
        echo_bot_chat: bool = True,
        token_lifetime_s: int = 14_400,
    ) -> None:
        self.broadcaster, self.bot = broadcaster, bot
        self.client_id, self.client_secret = client_id, client_secret
        self.host, self.port = host, port
        self.min_keepalive_s, self.unused_timeout_s = min_keepalive_s, unused_timeout_s
        self.reconnect_grace_s, self.echo_bot_chat = reconnect_grace_s, echo_bot_chat
        self.token_lifetime_s = token_lifetime_s
        self.send_keepalives = True  # False: go silent, as a stalled Twitch edge would
        self.authorize_login = bot.login  # who "approves" /oauth2/authorize (or ?sim_login=)
        self._users: dict[str, SimUser] = {}
        for user in (broadcaster, bot, *users):
            self._users[user.login] = user
        self.moderators: set[str] = set(moderators if moderators is not None else [bot.login])
        self._tokens: dict[str, _Token] = {}
        self._refresh: dict[str, tuple[str, frozenset[str]]] = {}
        self._codes: dict[str, tuple[str, frozenset[str], str]] = {}
        self.user_tokens: dict[str, tuple[str, str]] = {}  # login -> (access, refresh), newest
        for user in self._users.values():
            if user.scopes:
                self._issue(user.id, user.scopes)
        self._sessions: dict[str, _Session] = {}
        self._subs: dict[str, _Sub] = {}
        self._messages: dict[str, dict[str, Any]] = {}
        self._rewards: dict[str, dict[str, Any]] = {}
        self._gift_totals: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self.requests: list[SimRequest] = []
        self.sent_chat: list[dict[str, Any]] = []
        self.delivered: list[dict[str, Any]] = []

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_post("/oauth2/token", self._h_token)
        r.add_get("/oauth2/validate", self._h_validate)
        r.add_post("/oauth2/revoke", self._h_revoke)
        r.add_get("/oauth2/authorize", self._h_authorize)
        r.add_get("/helix/users", self._h_users)
        r.add_route("*", "/helix/eventsub/subscriptions", self._h_eventsub)
        r.add_post("/helix/chat/messages", self._h_chat)
        r.add_get("/helix/bits/cheermotes", lambda _: _json({"data": p.cheermotes_data()}))
        r.add_get("/helix/moderation/moderators", self._h_moderators)
        r.add_get("/ws", self._h_ws)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        """Close every socket (1001 going away) and the server; close bots first or they retry."""
        for session in list(self._sessions.values()):
            await self._close(session, 1001, "server shutting down")
        for task in list(self._tasks):
            task.cancel()
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
        """The values for ``twitch.endpoints`` (``api``/``auth``/``eventsub``)."""
        return {"api": f"{self.url}/helix/", "auth": f"{self.url}/", "eventsub": self.ws_url}

    @property
    def subscriptions(self) -> list[dict[str, Any]]:
        """Live subscriptions, as Twitch lists them."""
        return [sub.twitch() for sub in self._subs.values()]

    @property
    def live_sessions(self) -> list[str]:
        return [s.id for s in self._sessions.values() if not s.ws.closed]

    def user(self, who: str | SimUser) -> SimUser:
        """A known user by login; an unknown login becomes a new viewer, so scripts need no cast list."""
        if isinstance(who, SimUser):
            return self._users.setdefault(who.login, who)
        login = who.lower().lstrip("@")
        if login not in self._users:
            self._users[login] = SimUser(str(900_000 + len(self._users)), login, who.lstrip("@"))
        return self._users[login]

    # --- tokens ----------------------------------------------------------------------

    def _issue(self, user_id: str | None, scopes: frozenset[str], refresh: str | None = None) -> dict[str, Any]:
        access = secrets.token_hex(15)
        loop_now = _now()
        self._tokens[access] = _Token(user_id, scopes, loop_now + self.token_lifetime_s)
        body: dict[str, Any] = {"access_token": access, "expires_in": self.token_lifetime_s, "token_type": "bearer"}
        if user_id is not None:
            refresh = refresh or secrets.token_hex(25)
            self._refresh[refresh] = (user_id, scopes)
            self.user_tokens[self._by_id(user_id).login] = (access, refresh)
            body |= {"refresh_token": refresh, "scope": sorted(scopes)}
        return body

    def expire_token(self, login: str) -> None:
        """Invalidate a user's access tokens (the refresh token stays good), to test refreshing."""
        uid = self.user(login).id
        for access in [a for a, t in self._tokens.items() if t.user_id == uid]:
            del self._tokens[access]

    def write_tokens_file(self, path: str | os.PathLike[str], logins: Sequence[str] = ()) -> Path:
        """Write TwitchIO's token file (bot and broadcaster by default), mode 0600."""
        now = datetime.datetime.now().isoformat()
        data = {}
        for login in logins or (self.bot.login, self.broadcaster.login):
            user = self.user(login)
            access, refresh = self.user_tokens[login]
            data[user.id] = {"user_id": user.id, "token": access, "refresh": refresh, "last_validated": now}
        target = Path(path)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
        return target

    def _by_id(self, user_id: str) -> SimUser:
        return next(u for u in self._users.values() if u.id == user_id)

    def _granted(self, user_id: str) -> frozenset[str]:
        return frozenset().union(*(t.scopes for t in self._tokens.values() if t.user_id == user_id))

    # --- HTTP ------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        body: Any = None
        if request.content_type == "application/json" and request.can_read_body:
            body = await request.json()
        elif request.content_type == "application/x-www-form-urlencoded":
            body = dict(await request.post())
        request["body"], token, status = body, None, 500
        try:
            if request.path.startswith("/helix/"):
                token = request["token"] = self._auth(request)
            response = await handler(request)
            status = response.status
            return response
        except _Fail as fail:
            status = fail.status
            return fail.response()
        except web.HTTPException as exc:
            status = exc.status
            if exc.status < 400:
                raise
            return _Fail(exc.status, exc.reason).response()
        finally:
            if request.path != "/ws":
                query = {k: request.query.getall(k) for k in request.query}
                uid = token.user_id if token else None
                self.requests.append(SimRequest(request.method, request.path, query, body, uid, status))

    def _auth(self, request: web.Request) -> _Token:
        raw = request.headers.get("Authorization", "")
        token = self._tokens.get(raw.removeprefix("Bearer ").removeprefix("OAuth "))
        if token is None or token.expires_at < _now():
            raise _Fail(401, "Invalid OAuth token")
        if request.headers.get("Client-Id") != self.client_id:
            raise _Fail(401, "Client ID and OAuth token do not match")
        return token

    async def _h_token(self, request: web.Request) -> web.Response:
        args = {**(request["body"] or {}), **request.query}
        if args.get("client_id") != self.client_id:
            raise _Fail(400, "invalid client", oauth=True)
        if args.get("client_secret") != self.client_secret:
            raise _Fail(403, "invalid client secret", oauth=True)
        match args.get("grant_type"):
            case "client_credentials":
                return _json(self._issue(None, frozenset()))
            case "refresh_token":
                refresh = urllib.parse.unquote(args.get("refresh_token", ""))
                if refresh not in self._refresh:
                    raise _Fail(400, "Invalid refresh token", oauth=True)
                return _json(self._issue(*self._refresh[refresh], refresh=refresh))
            case "authorization_code":
                user_id, scopes, redirect = self._codes.pop(args.get("code", ""), ("", frozenset(), ""))
                if not user_id or args.get("redirect_uri") != redirect:
                    raise _Fail(400, "Invalid authorization code", oauth=True)
                return _json(self._issue(user_id, scopes))
        raise _Fail(400, "Invalid grant type", oauth=True)

    async def _h_validate(self, request: web.Request) -> web.Response:
        raw = request.headers.get("Authorization", "").removeprefix("OAuth ").removeprefix("Bearer ")
        token = self._tokens.get(raw)
        if token is None or token.expires_at < _now():
            raise _Fail(401, "invalid access token", oauth=True)
        body: dict[str, Any] = {"client_id": self.client_id, "scopes": sorted(token.scopes)}
        if token.user_id is not None:
            body |= {"login": self._by_id(token.user_id).login, "user_id": token.user_id}
        return _json(body | {"expires_in": int(token.expires_at - _now())})

    async def _h_revoke(self, request: web.Request) -> web.Response:
        self._tokens.pop({**(request["body"] or {}), **request.query}.get("token", ""), None)
        return web.Response(status=200)

    async def _h_authorize(self, request: web.Request) -> web.Response:
        """Approve at once as ``authorize_login`` (or ``?sim_login=``) and redirect with a code."""
        q = request.query
        user = self.user(q.get("sim_login", self.authorize_login))
        code = secrets.token_hex(15)
        self._codes[code] = (user.id, frozenset(q.get("scope", "").split()), q.get("redirect_uri", ""))
        query = urllib.parse.urlencode({"code": code, "scope": q.get("scope", ""), "state": q.get("state", "")})
        raise web.HTTPFound(f"{q.get('redirect_uri', '')}?{query}")

    async def _h_users(self, request: web.Request) -> web.Response:
        ids, logins = request.query.getall("id", []), request.query.getall("login", [])
        token: _Token = request["token"]
        if not ids and not logins:
            if token.user_id is None:
                raise _Fail(400, "Must provide an ID, Login or OAuth Token")
            ids = [token.user_id]
        found = [u for u in self._users.values() if u.id in ids or u.login in {x.lower() for x in logins}]
        return _json({"data": [p.user_data(u) for u in found]})

    async def _h_moderators(self, request: web.Request) -> web.Response:
        token: _Token = request["token"]
        if token.user_id != request.query.get("broadcaster_id") or not token.scopes & {
            "moderation:read", "channel:manage:moderators"
        }:  # fmt: skip
            raise _Fail(403, "Missing scope: moderation:read")
        mods = [self.user(m) for m in sorted(self.moderators)]
        data = [{"user_id": m.id, "user_login": m.login, "user_name": m.display_name} for m in mods]
        return _json({"data": data, "pagination": {}})

    async def _h_eventsub(self, request: web.Request) -> web.Response:
        token: _Token = request["token"]
        if request.method == "DELETE":
            sub = self._subs.get(request.query.get("id", ""))
            if sub is None or (token.user_id and sub.user_id != token.user_id):
                raise _Fail(404, "subscription not found")
            del self._subs[sub.id]
            return web.Response(status=204)
        if request.method == "GET":
            q = request.query
            subs = [s for s in self._subs.values() if token.user_id in (None, s.user_id)]
            subs = [s for s in subs if q.get("type", s.type) == s.type and q.get("subscription_id", s.id) == s.id]
            if q.get("status", "enabled") != "enabled":
                subs = []
            return _json({**self._totals(token), "data": [s.twitch() for s in subs], "pagination": {}})
        if request.method != "POST":
            raise _Fail(405, "method not allowed")
        sub = self._check_subscription(request["body"] or {}, token)
        self._subs[sub.id] = sub
        connected = self._sessions[sub.session_id].connected_at
        return _json({**self._totals(token), "data": [sub.twitch(connected)]}, status=202)

    def _totals(self, token: _Token) -> dict[str, int]:
        total = sum(1 for s in self._subs.values() if token.user_id in (None, s.user_id))
        return {"total": total, "total_cost": 0, "max_total_cost": 10}

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
            raise _Fail(400, "websocket transport session does not exist or has already disconnected")
        rule = p.SUBSCRIPTION_RULES.get(sub_type)
        if rule is None or rule.version != version:
            raise _Fail(400, f"unsupported subscription type or version: {sub_type} v{version}")
        if sub_type == "channel.raid":
            valid = bool(condition.get("to_broadcaster_user_id")) != bool(condition.get("from_broadcaster_user_id"))
        else:
            valid = all(condition.get(key) for key in rule.condition)
        if not valid:
            raise _Fail(400, "invalid condition")
        allowed = not rule.scopes or (condition.get(rule.token_user_key or "") == token.user_id and rule.scopes & token.scopes)
        if allowed and sub_type == "channel.follow" and condition["moderator_user_id"] != condition["broadcaster_user_id"]:
            allowed = self._by_id(token.user_id).login in self.moderators
        if not allowed:
            raise _Fail(403, "subscription missing proper authorization")
        for other in self._subs.values():
            if (other.type, other.condition, other.session_id) == (sub_type, condition, session.id):
                raise _Fail(409, "subscription already exists")
        return _Sub(str(uuid.uuid4()), sub_type, version, condition, session.id, token.user_id)

    async def _h_chat(self, request: web.Request) -> web.Response:
        token: _Token = request["token"]
        body = request["body"] or {}
        broadcaster_id, sender_id, text = body.get("broadcaster_id"), body.get("sender_id"), body.get("message")
        if not broadcaster_id or not sender_id or not isinstance(text, str):
            raise _Fail(400, "Missing required parameter")
        if len(text) > MAX_CHAT_CHARS:
            raise _Fail(400, f"The message may not exceed {MAX_CHAT_CHARS} characters")
        sender = self._by_id(str(sender_id))
        if token.user_id is not None:  # a user token speaks for its user
            if token.user_id != str(sender_id):
                raise _Fail(401, "The sender_id must match the user ID in the access token")
            if "user:write:chat" not in token.scopes:
                raise _Fail(401, "Missing scope: user:write:chat")
        elif not {"user:write:chat", "user:bot"} <= self._granted(sender.id) or not (
            "channel:bot" in self._granted(str(broadcaster_id)) or sender.login in self.moderators
        ):  # an app token needs the bot's user:bot and the channel's channel:bot (or a mod)
            raise _Fail(403, "The sender is not permitted to send chat messages to the broadcaster's chat room")
        message_id = str(uuid.uuid4())
        reply_to = body.get("reply_parent_message_id")
        self.sent_chat.append({**body, "message_id": message_id})
        if self.echo_bot_chat:  # Twitch sends the bot's own message back over EventSub
            parent = self._messages.get(reply_to) if reply_to else None
            echo = {"message_id": message_id, "reply": p.reply_object(parent) if parent else None}
            self._spawn(self.chat(sender, text, **echo))  # type: ignore[arg-type]
        return _json({"data": [{"message_id": message_id, "is_sent": True, "drop_reason": None}]})

    # --- EventSub WebSocket --------------------------------------------------------------

    async def _h_ws(self, request: web.Request) -> web.StreamResponse:
        try:
            keepalive = int(request.query.get("keepalive_timeout_seconds", 10))
        except ValueError:
            keepalive = -1
        if not self.min_keepalive_s <= keepalive <= MAX_KEEPALIVE_S:
            raise _Fail(400, "keepalive_timeout_seconds must be between 10 and 600")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = _Session(p.new_session_id(), ws, request.transport, keepalive, p.timestamp())
        self._sessions[session.id] = session
        old = self._sessions.get(request.query.get("reconnect_id", ""))
        if old is not None:  # the subscriptions move over; then the old socket is closed
            for sub in self._subs.values():
                if sub.session_id == old.id:
                    sub.session_id = session.id
        await self._send(session, p.session_message("session_welcome", session.id, connected_at=session.connected_at, keepalive_s=keepalive))
        if "reconnect_id" in request.query:
            self._spawn(self._close(old, 4004, "client reconnect grace time expired") if old else self._close(session, 4007, "invalid reconnect attempt"))
        session.tasks.append(asyncio.create_task(self._keepalive(session)))
        if self.unused_timeout_s is not None:
            session.tasks.append(asyncio.create_task(self._close_if_unused(session)))
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):  # Twitch forbids client messages
                    await ws.close(code=4001, message=b"sent inbound traffic")
        finally:
            await self._forget(session)
        return ws

    async def _send(self, session: _Session, message: Mapping[str, Any]) -> bool:
        if session.ws.closed:
            return False
        try:
            await session.ws.send_str(json.dumps(message))
        except (ConnectionError, RuntimeError):
            return False
        session.last_sent = asyncio.get_running_loop().time()
        return True

    async def _keepalive(self, session: _Session) -> None:
        """Send a keepalive after each ``keepalive_s`` of silence, as Twitch does."""
        loop = asyncio.get_running_loop()
        while not session.ws.closed:
            await asyncio.sleep(max(0.0, session.last_sent + session.keepalive_s - loop.time()))
            if loop.time() >= session.last_sent + session.keepalive_s:
                if self.send_keepalives:
                    await self._send(session, p.session_message("session_keepalive"))
                else:
                    await asyncio.sleep(session.keepalive_s)

    async def _close_if_unused(self, session: _Session) -> None:
        assert self.unused_timeout_s is not None
        await asyncio.sleep(self.unused_timeout_s)
        if not any(sub.session_id == session.id for sub in self._subs.values()):
            await self._close(session, 4003, "connection unused")

    async def _close(self, session: _Session, code: int, reason: str) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await session.ws.close(code=code, message=reason.encode())
        await self._forget(session)

    async def _forget(self, session: _Session) -> None:
        """A closed session loses its subscriptions (Twitch: ``websocket_disconnected``)."""
        self._sessions.pop(session.id, None)
        for sub_id in [s.id for s in self._subs.values() if s.session_id == session.id]:
            del self._subs[sub_id]
        current = asyncio.current_task()
        for task in session.tasks:
            if task is not current:
                task.cancel()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def reconnect(self) -> list[str]:
        """Send ``session_reconnect`` to every session; returns the old session ids.

        The old socket keeps its events until the client connects to the
        ``reconnect_url``, then closes with 4004 (also after ``reconnect_grace_s``).
        """
        old = [s for s in self._sessions.values() if not s.ws.closed]
        for session in old:
            url = f"{self.ws_url}?reconnect_id={session.id}&keepalive_timeout_seconds={session.keepalive_s}"
            message = p.session_message("session_reconnect", session.id, connected_at=session.connected_at, reconnect_url=url)
            await self._send(session, message)
            session.tasks.append(asyncio.create_task(self._grace(session)))
        return [s.id for s in old]

    async def _grace(self, session: _Session) -> None:
        await asyncio.sleep(self.reconnect_grace_s)
        await self._close(session, 4004, "client reconnect grace time expired")

    async def drop_sockets(self) -> int:
        """Cut every socket without a close frame (a network failure); returns how many."""
        sessions = [s for s in self._sessions.values() if not s.ws.closed]
        for session in sessions:
            if session.transport is not None:
                session.transport.abort()  # type: ignore[attr-defined]
        return len(sessions)

    async def revoke(self, subscription_type: str, *, status: str = "authorization_revoked") -> int:
        """Send ``revocation`` for each subscription of that type and remove them."""
        subs = [s for s in self._subs.values() if s.type == subscription_type]
        for sub in subs:
            del self._subs[sub.id]
            if session := self._sessions.get(sub.session_id):
                await self._send(session, p.session_message("revocation", subscription=sub.twitch() | {"status": status}))
        return len(subs)

    async def send_raw(self, subscription_type: str, event: dict[str, Any], *, message_id: str | None = None) -> int:
        """Notify each matching subscription; the same ``message_id`` again is a redelivery."""
        delivered = 0
        for sub in [s for s in self._subs.values() if s.type == subscription_type and s.matches(event)]:
            session = self._sessions.get(sub.session_id)
            message = p.notification_message(sub.twitch(), event, message_id=message_id)
            if session is not None and await self._send(session, message):
                self.delivered.append(message)
                delivered += 1
        return delivered

    # --- waiting (for tests) --------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None = 5.0) -> None:
        """Poll ``predicate`` until true; ``TimeoutError`` after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.01)

    async def wait_subscribed(self, types: Iterable[str], timeout: float | None = 5.0) -> None:
        wanted = set(types)
        await self.wait_until(lambda: wanted <= {s.type for s in self._subs.values()}, timeout)

    async def wait_sent_chat(self, count: int = 1, timeout: float | None = 5.0) -> list[dict[str, Any]]:
        await self.wait_until(lambda: len(self.sent_chat) >= count, timeout)
        return list(self.sent_chat)

    from ._sim_actions import (  # noqa: E402  (actions and scripts live beside, to keep files small)
        chat, cheer, clear_user, community_gift, delete_message, follow, play, raid, redeem, resub, sub, sub_gift,
    )  # fmt: skip


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _now() -> float:
    return asyncio.get_running_loop().time()
