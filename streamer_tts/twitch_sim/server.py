"""A local Twitch for tests and the demo: OAuth, Helix and an EventSub WebSocket on one port.

Twitch is unreachable from tests and from a streamer trying the demo, so this
plays its part closely enough that an unmodified TwitchIO bot runs against it
(`streamer_tts.twitch.endpoints.point_at(**sim.endpoints)` aims TwitchIO here).
Subscriptions are checked as Twitch checks them (live session, condition,
scopes: 403 otherwise), and a notification reaches only the sessions holding a
matching subscription.

:class:`TwitchSim` holds the state and the server's lifecycle; its parts are
mixins, one concern each: OAuth and Helix in :mod:`.oauth_helix`, EventSub
sessions and subscriptions in :mod:`.eventsub`, and the happenings
(``sim.chat(...)``, ``sim.raid(...)``, ...) in :mod:`.happenings`. Payloads
come from :mod:`.payloads` and :mod:`.shapes`.

By hand: ``python -m streamer_tts.twitch_sim --port 8080 [--script demo.yaml]``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from aiohttp import web

from .eventsub import CLOSE_HANDSHAKE_S as CLOSE_HANDSHAKE_S
from .eventsub import KEEPALIVE_RANGE_S, SimEventSub, _Session, _Sub
from .happenings import MAX_REMEMBERED_MESSAGES as MAX_REMEMBERED_MESSAGES
from .happenings import SimEvents
from .oauth_helix import MAX_CHAT_CHARS as MAX_CHAT_CHARS
from .oauth_helix import SimHttp, SimRequest, _Fail, _Token
from .shapes import Event, SimUser
from .steps import play

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = ["DEFAULT_BOT", "DEFAULT_BROADCASTER", "SimRequest", "SimUser", "TwitchSim"]

DEFAULT_BROADCASTER = SimUser("1000", "streamer", "Streamer", frozenset({
    "channel:bot", "bits:read", "channel:read:subscriptions", "channel:read:redemptions",
    "moderator:read:followers", "user:read:chat",
}))  # fmt: skip
DEFAULT_BOT = SimUser(
    "2000", "ttsbot", "TTSBot", frozenset({"user:read:chat", "user:write:chat", "user:bot"})
)


class TwitchSim(SimEvents, SimEventSub, SimHttp):
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
        self.port = self._runner.addresses[0][1]  # the port bound, when asked for port 0

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

    # --- scripts -----------------------------------------------------------------------------

    async def play(self, script: Sequence[Mapping[str, Any]], *, speed: float = 1.0) -> None:
        """Play script steps (see :func:`.steps.validate_script`) at ``at`` / ``speed``."""
        await play(self, script, speed=speed)

    def twitch_config(self, tokens_file: str | os.PathLike[str]) -> dict[str, Any]:
        """The config's ``twitch:`` section that points the daemon here."""
        return {
            "client_id": self.client_id, "client_secret": self.client_secret, "bot_id": self.bot.id,
            "owner_id": self.broadcaster.id, "tokens_file": str(Path(tokens_file).resolve()),
            "endpoints": self.endpoints,
        }  # fmt: skip

    def config_snippet(self, tokens_file: str | os.PathLike[str]) -> str:
        """The ``twitch:`` block of ``config.yaml``, as YAML text."""
        return yaml.safe_dump({"twitch": self.twitch_config(tokens_file)}, sort_keys=False)
