"""The simulator's OAuth and Helix side: tokens, request checks, and the HTTP handlers.

:class:`SimHttp` is a mixin of :class:`.server.TwitchSim`, which owns the state it
reads. Failures are answered in Twitch's shape (:class:`_Fail`), because TwitchIO
reads the error's ``message`` to decide whether to refresh a token. The EventSub
subscription endpoint lives with the sessions it checks, in :mod:`.eventsub`.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from yarl import URL

from .shapes import Event, SimUser, cheermotes_data, error_body, user_data

MAX_CHAT_CHARS = 500  # Twitch's limit for one chat message


class _Fail(Exception):
    """An error answered in Twitch's shape: Helix's has ``error``, id.twitch.tv's does not."""

    def __init__(self, status: int, message: str, *, oauth: bool = False) -> None:
        super().__init__(message)
        self.status, self.message, self.oauth = status, message, oauth

    def response(self) -> web.Response:
        body = {"status": self.status, "message": self.message}
        return _json(body if self.oauth else error_body(self.status, self.message), self.status)


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


class SimHttp:
    """Token issuing and the OAuth/Helix handlers of :class:`.server.TwitchSim`."""

    # state set up by TwitchSim.__init__
    broadcaster: SimUser
    bot: SimUser
    client_id: str
    client_secret: str
    token_lifetime_s: int
    authorize_login: str
    moderators: set[str]
    user_tokens: dict[str, tuple[str, str]]
    requests: list[SimRequest]
    sent_chat: list[Event]
    _users: dict[str, SimUser]
    _tokens: dict[str, _Token]
    _refresh: dict[str, tuple[str, frozenset[str]]]
    _codes: dict[str, tuple[str, frozenset[str], str]]

    if TYPE_CHECKING:  # provided by TwitchSim

        def user(self, who: str | SimUser) -> SimUser: ...

        def _by_id(self, user_id: str) -> SimUser: ...

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
        """Expire a user's access tokens (the refresh token stays good): tests refreshing."""
        self.expire_tokens([login])

    def expire_tokens(self, logins: Sequence[str] | None = None) -> int:
        """Expire the access tokens of ``logins`` (None: every token, app tokens too).

        As at Twitch after ``expires_in``: validate answers 401 "invalid access
        token", Helix 401 "Invalid OAuth token", and the refresh token still
        gets a new access token. Returns how many expired.
        """
        ids = None if logins is None else {self.user(login).id for login in logins}
        expired = 0
        for token in self._tokens.values():
            if (ids is None or token.user_id in ids) and token.expires_at > _now():
                token.expires_at = _now()
                expired += 1
        return expired

    def is_valid_token(self, access: str) -> bool:
        """Whether Twitch would take this access token now."""
        return self._token(access) is not None

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
        return _json({"data": [user_data(u) for u in found]})

    async def _h_cheermotes(self, request: web.Request) -> web.Response:
        return _json({"data": cheermotes_data()})

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


def _mapping(body: object) -> Mapping[str, Any]:
    return body if isinstance(body, Mapping) else {}


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _now() -> float:
    return time.monotonic()
