"""The simulator's EventSub side: WebSocket sessions and the subscriptions they hold.

:class:`SimEventSub` is a mixin of :class:`.server.TwitchSim`, which owns the state.
Subscriptions are checked as Twitch checks them (live session, condition,
scopes: 403 otherwise), a notification reaches only the sessions holding a
matching subscription, and a closed session loses its subscriptions. The faults
a test injects on purpose (reconnect, dropped sockets, revocation) are here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .oauth_helix import _BODY, _TOKEN, _Fail, _json, _mapping, _now, _Token
from .shapes import (
    SUBSCRIPTION_RULES,
    Event,
    SimUser,
    new_session_id,
    notification_message,
    session_message,
    subscription_object,
    timestamp,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

KEEPALIVE_RANGE_S = (10, 600)  # what Twitch accepts for keepalive_timeout_seconds
CLOSE_HANDSHAKE_S = 3.0  # how long our close waits for the client's reply


@dataclass(slots=True)
class _Session:
    id: str
    ws: web.WebSocketResponse
    transport: asyncio.BaseTransport | None
    keepalive_s: int
    connected_at: str = field(default_factory=timestamp)
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
    created_at: str = field(default_factory=timestamp)

    def twitch(self) -> Event:
        return subscription_object(
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


class SimEventSub:
    """The EventSub subscription endpoint and WebSocket sessions of :class:`.server.TwitchSim`."""

    # state set up by TwitchSim.__init__
    min_keepalive_s: int
    reconnect_grace_s: float
    send_keepalives: bool
    moderators: set[str]
    delivered: list[Event]
    _sessions: dict[str, _Session]
    _subs: dict[str, _Sub]

    if TYPE_CHECKING:  # provided by TwitchSim

        @property
        def ws_url(self) -> str: ...

        def _by_id(self, user_id: str) -> SimUser: ...

    # --- subscriptions (Helix) ---------------------------------------------------------------

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
        rule = SUBSCRIPTION_RULES.get(sub_type)
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

    # --- EventSub WebSocket ------------------------------------------------------------------

    async def _h_ws(self, request: web.Request) -> web.StreamResponse:
        """A session: welcome, keepalives, notifications; a client message closes it (4001)."""
        keepalive = request.query.get("keepalive_timeout_seconds", "10")
        low, high = self.min_keepalive_s, KEEPALIVE_RANGE_S[1]
        if not (keepalive.isdigit() and low <= int(keepalive) <= high):
            raise _Fail(400, f"keepalive_timeout_seconds must be between {low} and {high}")
        ws = web.WebSocketResponse(timeout=CLOSE_HANDSHAKE_S)
        await ws.prepare(request)
        session = _Session(new_session_id(), ws, request.transport, int(keepalive))
        self._sessions[session.id] = session
        old = self._sessions.get(request.query.get("reconnect_id", ""))
        for sub in self._subs.values():  # a reconnect keeps its subscriptions
            if old is not None and sub.session_id == old.id:
                sub.session_id = session.id
        welcome = session_message(
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
                await self._send(session, session_message("session_keepalive"))
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
            message = session_message(
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
                revocation = session_message(
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
            message = notification_message(sub.twitch(), event, message_id=message_id)
            if session is not None and await self._send(session, message):
                self.delivered.append(message)
                sent += 1
        return sent
