"""The TwitchIO 3 bot: tokens, endpoints, subscriptions, and one component.

The bot only converts and submits: every event goes to the conductor's
inbox with `submit()` (no await), and every decision is the core's. What
the bot needs from Twitch is checked at start and refused with one line
naming the missing scope and the command that fixes it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import twitchio
import twitchio.eventsub.websockets as ws_module
from twitchio import eventsub
from twitchio.ext import commands

from .. import logs
from ..config.schema import Config
from .components import TTSComponent

__all__ = ["BOT_SCOPES", "BROADCASTER_SCOPES", "TTSBot", "TwitchStartError", "point_at"]

log = logging.getLogger(__name__)
# TwitchIO warns on every start that an optional adapter we never use is missing.
logging.getLogger("twitchio.client").addFilter(
    lambda record: "StarletteAdapter" not in record.getMessage()
)

BOT_SCOPES = ("user:read:chat", "user:write:chat", "user:bot")
BROADCASTER_SCOPES = {
    "redemption": "channel:read:redemptions",
    "cheer": "bits:read",
    "subscription": "channel:read:subscriptions",
    "follow": "moderator:read:followers",
}


MAX_PENDING_REPLIES = 5
_REASON_WORDS = {
    "rate_limited": "slow down a little",
    "user_limit": "you already have messages waiting",
    "not_allowed": "not allowed",
    "banned_word": "that word is not allowed",
    "banned_user": "you are banned from TTS",
    "empty": "nothing left to read",
    "queue_full": "the queue is full, try later",
    "duplicate": "already read",
    "disabled": "TTS is off",
}


class TwitchStartError(Exception):
    """Twitch refused us at start: a missing token or scope (exit 2), or could
    not be reached (`retry`: exit 1, so systemd tries again)."""

    def __init__(self, message: str, *, retry: bool = False) -> None:
        super().__init__(message)
        self.retry = retry


def point_at(api: str, auth: str, eventsub_ws: str) -> None:
    """Aim TwitchIO at other endpoints; 3.3.2 reads these at request time."""
    twitchio.http.Route.BASE = api if api.endswith("/") else api + "/"
    twitchio.http.Route.ID_BASE = auth if auth.endswith("/") else auth + "/"
    ws_module.WSS = eventsub_ws


class TTSBot(commands.Bot):
    def __init__(self, config: Config, submit: Callable[[object], bool]) -> None:
        twitch = config.twitch
        if twitch is None:
            raise TwitchStartError("twitch: section missing in the config")
        point_at(twitch.endpoints.api, twitch.endpoints.auth, twitch.endpoints.eventsub)
        super().__init__(
            client_id=twitch.client_id,
            client_secret=twitch.client_secret.get_secret_value(),
            bot_id=twitch.bot_id,
            owner_id=twitch.owner_id,
            prefix="!",
            fetch_self=False,
        )
        self.config = config
        self.submit = submit
        self.tokens_file = Path(twitch.tokens_file)
        self.scopes: dict[str, set[str]] = {}
        self.ready_event = asyncio.Event()
        self.start_error: TwitchStartError | None = None
        self._replies: set[asyncio.Task[None]] = set()

    # --- tokens ----------------------------------------------------------------

    async def add_token(self, token: str, refresh: str) -> Any:
        resp = await super().add_token(token, refresh)
        if resp.user_id:
            self.scopes[str(resp.user_id)] = set(resp.scopes)
            logs.add_secrets([token, refresh])
        return resp

    async def load_tokens(self, path: str | None = None) -> None:
        """Read `twitch.tokens_file` through `add_token`, learning each scope set."""
        try:
            data = json.loads(self.tokens_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError) as e:
            log.warning(
                "cannot read %s (%s): run `make auth`", self.tokens_file, e.__class__.__name__
            )
            data = {}
        for value in data.values() if isinstance(data, dict) else ():
            try:
                await self.add_token(str(value["token"]), str(value["refresh"]))
            except (twitchio.InvalidTokenException, KeyError, TypeError):
                log.warning("a token in %s is no longer valid: run `make auth`", self.tokens_file)
        self._http._has_loaded = True  # TwitchIO's flag that the store was read

    async def save_tokens(self, path: str | None = None) -> None:
        if not self.tokens_file.parent.exists():
            return
        data = {uid: dict(v) for uid, v in self.tokens._tokens.items()}  # type: ignore[attr-defined]
        write_tokens(self.tokens_file, data)

    # --- start -------------------------------------------------------------------

    def _check_scopes(self) -> None:
        bot_id, owner_id = str(self.bot_id), str(self.owner_id)
        if bot_id not in self.scopes:
            raise TwitchStartError(
                f"no valid token for the bot account (user id {bot_id}) in {self.tokens_file}: "
                "run `make auth` (python bot.py auth) and log in as the bot"
            )
        missing = [s for s in ("user:read:chat",) if s not in self.scopes[bot_id]]
        if missing:
            raise TwitchStartError(
                f"the bot's token lacks the scope {missing[0]}: run `make auth` again"
            )
        if owner_id in self.scopes:
            for source, scope in self._broadcaster_wants().items():
                if scope not in self.scopes[owner_id]:
                    log.warning(
                        "the broadcaster's token lacks %s, so %s events are not "
                        "received: run `make auth` for the broadcaster",
                        scope,
                        source,
                    )

    def _broadcaster_wants(self) -> dict[str, str]:
        sources = self.config.sources
        wanted = {}
        if sources.redemption.enabled:
            wanted["redemption"] = BROADCASTER_SCOPES["redemption"]
        if sources.follow.enabled:
            wanted["follow"] = BROADCASTER_SCOPES["follow"]
        if self.config.twitch is not None and self.config.twitch.eventsub_money:
            wanted["cheer"] = BROADCASTER_SCOPES["cheer"]
            wanted["subscription"] = BROADCASTER_SCOPES["subscription"]
        return wanted

    async def setup_hook(self) -> None:
        try:
            self._check_scopes()
        except TwitchStartError as e:
            self.start_error = e
            self.ready_event.set()
            return
        await self.add_component(TTSComponent(self))
        bot_id, owner_id = str(self.bot_id), str(self.owner_id)
        chat = {"broadcaster_user_id": owner_id, "user_id": bot_id}
        subs: list[tuple[Any, str]] = [
            (eventsub.ChatMessageSubscription(**chat), bot_id),
            (eventsub.ChatNotificationSubscription(**chat), bot_id),
            (eventsub.ChatMessageDeleteSubscription(**chat), bot_id),
            (eventsub.ChatClearUserMessagesSubscription(**chat), bot_id),
        ]
        owner_scopes = self.scopes.get(owner_id, set())
        wants = {k: v for k, v in self._broadcaster_wants().items() if v in owner_scopes}
        broadcaster = {"broadcaster_user_id": owner_id}
        if "redemption" in wants:
            subs.append((eventsub.ChannelPointsRedeemAddSubscription(**broadcaster), owner_id))
        if "follow" in wants:
            subs.append(
                (
                    eventsub.ChannelFollowSubscription(**broadcaster, moderator_user_id=owner_id),
                    owner_id,
                )
            )
        if "cheer" in wants:
            subs.append((eventsub.ChannelCheerSubscription(**broadcaster), owner_id))
        if "subscription" in wants:
            subs += [
                (eventsub.ChannelSubscribeSubscription(**broadcaster), owner_id),
                (eventsub.ChannelSubscribeMessageSubscription(**broadcaster), owner_id),
                (eventsub.ChannelSubscriptionGiftSubscription(**broadcaster), owner_id),
            ]
        for payload, token_for in subs:
            try:
                # as_bot=True would override token_for with the bot's id
                await self.subscribe_websocket(
                    payload=payload, as_bot=token_for == bot_id, token_for=token_for
                )
            except twitchio.HTTPException as e:
                who = "bot" if token_for == bot_id else "broadcaster"
                self.start_error = TwitchStartError(
                    f"Twitch refused the {payload.type} subscription for the {who} "
                    f"(HTTP {e.status}): run `make auth` to grant the scopes again"
                )
                self.ready_event.set()
                return
        logs.emit(logs.BOT_READY, subscriptions=[p.type for p, _ in subs])
        self.ready_event.set()

    # --- chat replies ----------------------------------------------------------------

    def on_decision(self, event: object, decision: object) -> None:
        """Called by the conductor: answer `!ttsqueue`, and refusals if enabled."""
        from ..core.decisions import Control, Rejected
        from ..core.events import ChatTTS

        if isinstance(decision, Control) and decision.action == "queue":
            self._say(f"@{decision.by} {decision.detail}")
        elif (
            isinstance(decision, Rejected)
            and isinstance(event, ChatTTS)
            and self.config.commands.replies
        ):
            self._say(f"@{decision.user} not read: {_REASON_WORDS.get(decision.reason, 'refused')}")

    def _say(self, text: str) -> None:
        if len(self._replies) >= MAX_PENDING_REPLIES:
            return  # chat is flooding us: stay quiet rather than queue replies
        task = asyncio.create_task(self._send(text[:450]))
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)

    async def _send(self, text: str) -> None:
        try:
            owner = self.create_partialuser(str(self.owner_id))
            await asyncio.wait_for(owner.send_message(text, sender=str(self.bot_id)), 10)
        except Exception as e:
            log.warning("chat reply not sent: %s", e.__class__.__name__)

    async def event_token_refreshed(self, payload: Any) -> None:
        """TwitchIO refreshed a user token: write it back at once, not only at exit."""
        logs.add_secrets(
            [str(getattr(payload, "token", "")), str(getattr(payload, "refresh_token", ""))]
        )
        await self.save_tokens()

    async def event_message(self, payload: Any) -> None:
        """Our component reads chat; TwitchIO's own command parsing stays off.

        Command names and permissions are configurable and decided in the
        core, so none are registered with TwitchIO (which would otherwise
        report every `!tts` as an unknown command).
        """
        return

    async def event_ready(self) -> None:
        log.debug("twitchio ready as %s", self.bot_id)

    async def event_error(self, payload: Any) -> None:
        log.error("twitch listener failed: %r", getattr(payload, "error", payload))

    async def event_websocket_welcome(self, payload: Any) -> None:
        if self.ready_event.is_set():
            logs.emit(logs.TWITCH_CONNECTED, session=getattr(payload, "id", ""))

    async def event_subscription_revoked(self, payload: Any) -> None:
        logs.emit(
            logs.TWITCH_REVOKED,
            type=str(getattr(payload, "type", "")),
            reason=str(getattr(payload, "status", "")),
        )


def write_tokens(path: Path, data: dict[str, Any]) -> None:
    """Write TwitchIO's token file atomically, readable by the owner only."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fp:
        json.dump(data, fp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
