"""The TwitchIO 3 bot: tokens, subscriptions, and one component.

The bot only converts and submits: every event goes to the conductor's
inbox with `submit()` (no await), and every decision is the core's. What
the bot needs from Twitch is checked in `setup_hook`, before any
subscription, and refused with one line naming the missing scope and the
command that fixes it (`TwitchStartError`). Its lifecycle (retries while
Twitch is unreachable, supervision) is `runner.py`'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import twitchio
from twitchio.ext import commands

from .. import logs
from ..config.schema import Config
from .components import TTSComponent
from .endpoints import point_at
from .replies import Replies
from .scopes import (
    BOT_SCOPES,
    BROADCASTER_SCOPES,
    TwitchStartError,
    check_scopes,
    subscriptions,
)
from .tokens import TokenMappingData, read_tokens, write_tokens

# BOT_SCOPES, BROADCASTER_SCOPES, point_at and write_tokens are also `auth`'s
__all__ = [
    "BOT_SCOPES",
    "BROADCASTER_SCOPES",
    "TTSBot",
    "TwitchStartError",
    "point_at",
    "write_tokens",
]

log = logging.getLogger(__name__)
# TwitchIO warns on every start that an optional adapter we never use is missing.
logging.getLogger("twitchio.client").addFilter(
    lambda record: "StarletteAdapter" not in record.getMessage()
)


def _transient_status(status: int) -> bool:
    """Twitch's own trouble (5xx, rate limit), not a verdict on the token."""
    return status >= 500 or status == 429


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
            fetch_client_user=False,  # the bot id is all it needs
        )
        self.config = config
        self._submit = submit
        self.tokens_file = Path(twitch.tokens_file)
        self.scopes: dict[str, set[str]] = {}
        self.ready_event = asyncio.Event()
        self.replies = Replies(self, enabled=config.commands.replies)
        self._loaded = False  # the file was read: only then may it be written
        self._unusable: dict[str, TokenMappingData] = {}  # kept in the file as they were
        self._refreshed_while_loading = False

    def submit(self, event: object) -> bool:
        return self._submit(event)

    # --- tokens (TwitchIO's public hooks) ------------------------------------------------------

    async def add_token(
        self, token: str, refresh: str
    ) -> twitchio.authentication.ValidateTokenPayload:
        logs.add_secrets([token, refresh])  # TwitchIO's own errors quote the token
        resp = await super().add_token(token, refresh)
        if resp.user_id:
            self.scopes[str(resp.user_id)] = set(resp.scopes)
        return resp

    async def load_tokens(self, path: str | None = None) -> None:
        """Read `twitch.tokens_file` through `add_token`, learning each scope set.

        A token Twitch refuses is left out (the scope check names the fix) but
        kept in the file; Twitch failing to answer is raised, to retry later.
        """
        entries, problem = read_tokens(self.tokens_file)
        if problem is not None:
            log.warning("%s: run `make auth`", problem)
        for user_id, entry in entries.items():
            try:
                await self.add_token(entry["token"], entry["refresh"])
            except twitchio.InvalidTokenException as e:
                if _transient_status(e.status):
                    raise
                log.warning("a token in %s is no longer valid: run `make auth`", self.tokens_file)
                self._unusable[user_id] = entry
        self._loaded = True
        if self._refreshed_while_loading:
            await self.save_tokens()

    async def save_tokens(self, path: str | None = None) -> None:
        """Write the managed tokens back (at each refresh and at close)."""
        if not self._loaded:
            return  # never replace the file with less than it held
        managed = {uid: dict(entry) for uid, entry in self.tokens.items()}
        try:
            write_tokens(self.tokens_file, {**self._unusable, **managed})
        except OSError as e:
            log.warning("cannot save the refreshed Twitch tokens to %s: %s", self.tokens_file, e)

    async def event_token_refreshed(self, payload: twitchio.TokenRefreshedPayload) -> None:
        """TwitchIO refreshed a user token: write it back at once, not only at exit."""
        logs.add_secrets([payload.token, payload.refresh_token])
        if not self._loaded:
            self._refreshed_while_loading = True
            return
        await self.save_tokens()

    # --- start -------------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        bot_id, owner_id = str(self.bot_id), str(self.owner_id)
        where = str(self.tokens_file)
        check_scopes(self.scopes, self.config, bot_id=bot_id, owner_id=owner_id, where=where)
        await self.add_component(TTSComponent(self, self.config.commands, self.config.sources.chat))
        owner_scopes = self.scopes.get(owner_id, set())
        subs = subscriptions(
            self.config, bot_id=bot_id, owner_id=owner_id, owner_scopes=owner_scopes
        )
        for payload, token_for in subs:
            try:
                # as_bot=True would override token_for with the bot's id
                await self.subscribe_websocket(
                    payload=payload, as_bot=token_for == bot_id, token_for=token_for
                )
            except twitchio.HTTPException as e:
                if _transient_status(e.status):
                    raise
                who = "bot" if token_for == bot_id else "broadcaster"
                raise TwitchStartError(
                    f"Twitch refused the {payload.type} subscription for the {who} "
                    f"(HTTP {e.status}): run `make auth` to grant the scopes again"
                ) from None
        logs.emit(logs.BOT_READY, subscriptions=[p.type for p, _ in subs])
        self.ready_event.set()

    # --- events ------------------------------------------------------------------------------

    def on_decision(self, event: object, decision: object) -> None:
        """Called by the conductor: answer `!ttsqueue`, and refusals if enabled."""
        self.replies.on_decision(event, decision)

    async def event_message(self, payload: twitchio.ChatMessage) -> None:
        """Our component reads chat; TwitchIO's own command parsing stays off.

        Command names and permissions are configurable and decided in the
        core, so none are registered with TwitchIO (which would otherwise
        report every `!tts` as an unknown command).
        """
        return

    async def event_ready(self) -> None:
        log.debug("twitchio ready as %s", self.bot_id)

    async def event_error(self, payload: twitchio.EventErrorPayload) -> None:
        log.error("twitch listener failed: %r", payload.error)

    async def event_websocket_welcome(self, payload: twitchio.WebsocketWelcome) -> None:
        if self.ready_event.is_set():
            logs.emit(logs.TWITCH_CONNECTED, session=payload.id)

    async def event_subscription_revoked(self, payload: twitchio.SubscriptionRevoked) -> None:
        logs.emit(logs.TWITCH_REVOKED, type=str(payload.type), reason=str(payload.reason.value))
