"""The Twitch bot's life in the daemon: start, retry while Twitch is away, watch, close.

A transient outage (no network, Twitch answering 5xx or 429, a timeout)
never stops the daemon: it tries again after 1 s, doubling up to 30 s, while
the control API, the pages and the offline voice go on serving, and
`bot.ready` comes once Twitch is back. What the streamer must fix (a token,
a scope, the app's credentials) ends the task with `TwitchStartError` (exit
2). A bot that stops by itself is logged with its traceback and ends the task
with `TwitchDied` (exit 1: systemd starts a fresh daemon). A socket that
drops is not that: TwitchIO reconnects and resubscribes by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import aiohttp
import twitchio

from .. import logs, systemd
from .bot import TTSBot
from .scopes import TwitchStartError

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..config.schema import Config

__all__ = ["RETRY_MAX_S", "START_TIMEOUT_S", "TwitchDied", "TwitchRunner", "is_transient"]

log = logging.getLogger(__name__)

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0  # an outage at boot costs at most this after Twitch is back
START_TIMEOUT_S = 30.0  # one attempt: tokens, users, every subscription (under systemd's 90)
CLOSE_TIMEOUT_S = 5.0


class TwitchDied(Exception):
    """The bot stopped by itself, or failed in a way no retry can fix: a bug."""


def is_transient(error: BaseException) -> bool:
    """Twitch away or in trouble, as opposed to refusing us."""
    if isinstance(error, twitchio.HTTPException):
        return error.status >= 500 or error.status == 429
    transient = (OSError, aiohttp.ClientError, TimeoutError, twitchio.WebsocketConnectionException)
    return isinstance(error, transient)


def _describe(error: BaseException) -> str:
    if isinstance(error, twitchio.HTTPException):  # its text holds the request URL
        return f"HTTP {error.status}"
    return f"{error.__class__.__name__}: {error}"[:200]


class TwitchRunner:
    """Owns the bot (one at a time: a failed start is closed, a new one tried)."""

    def __init__(
        self,
        config: Config,
        submit: Callable[[object], bool],
        *,
        on_ready: Callable[[TTSBot], None] | None = None,
        retry_first_s: float = RETRY_FIRST_S,
        retry_max_s: float = RETRY_MAX_S,
        start_timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        self._config, self._submit, self._on_ready = config, submit, on_ready
        self._retry_first_s, self._retry_max_s = retry_first_s, retry_max_s
        self._start_timeout_s = start_timeout_s
        self.bot: TTSBot | None = None  # the bot that got ready
        self._settled = asyncio.Event()  # the first attempt ended: ready, or retrying
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def task(self) -> asyncio.Task[None]:
        """Ends only with `TwitchStartError` or `TwitchDied` (or when closed)."""
        assert self._task is not None, "start() first"
        return self._task

    async def start(self) -> None:
        """Return once the bot is ready or Twitch proved unreachable (retried behind)."""
        self._task = asyncio.create_task(self._supervised(), name="twitch")
        settled = asyncio.create_task(self._settled.wait())
        await asyncio.wait({self._task, settled}, return_when=asyncio.FIRST_COMPLETED)
        settled.cancel()
        if self._task.done():
            self._task.result()  # raises what ended it

    async def close(self) -> None:
        """Stop taking events, close the sockets, save the tokens."""
        self._closing = True
        if self.bot is not None:
            await _close(self.bot)
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _supervised(self) -> None:
        try:
            await self._run()
        except (TwitchStartError, asyncio.CancelledError):
            raise
        except Exception as e:
            log.error("the Twitch bot failed: %s", _describe(e), exc_info=e)
            logs.emit(logs.TWITCH_FAILED, error=_describe(e))
            raise TwitchDied(_describe(e)) from e

    async def _run(self) -> None:
        delay = self._retry_first_s
        while True:
            bot = TTSBot(self._config, self._submit)
            try:
                running = await self._attempt(bot)
                break
            except Exception as e:
                if isinstance(e, twitchio.HTTPException) and not is_transient(e):
                    message = e.extra.get("message", "") if isinstance(e.extra, dict) else ""
                    raise TwitchStartError(
                        f"Twitch refused the daemon (HTTP {e.status}{': ' if message else ''}"
                        f"{message}): check twitch.client_id and the client secret, or run "
                        "`make auth` again"
                    ) from None
                if not is_transient(e):
                    raise
                logs.emit(logs.TWITCH_UNREACHABLE, error=_describe(e), retry_in_s=delay)
                systemd.status(f"waiting for Twitch (retry in {delay:g} s)")
                self._settled.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)
        self.bot = bot
        if self._on_ready is not None:
            self._on_ready(bot)
        systemd.status("connected to Twitch")
        self._settled.set()
        await asyncio.wait({running})
        if not self._closing:
            error = None if running.cancelled() else running.exception()
            raise TwitchDied("the Twitch bot stopped by itself") from error

    async def _attempt(self, bot: TTSBot) -> asyncio.Task[None]:
        """Start `bot`; its running task once every subscription is up."""
        running = asyncio.create_task(bot.start(with_adapter=False), name="twitch.bot")
        ready = asyncio.create_task(bot.ready_event.wait())
        try:
            await asyncio.wait(
                {running, ready}, timeout=self._start_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
            if bot.ready_event.is_set() and not running.done():
                return running
            if running.done():
                raise running.exception() or TwitchDied("the bot stopped while starting")
            raise TimeoutError(f"Twitch did not answer within {self._start_timeout_s:g} s")
        except BaseException:
            await _close(bot)
            await asyncio.wait({running}, timeout=CLOSE_TIMEOUT_S)
            if running.done() and not running.cancelled():
                running.exception()  # seen: not "never retrieved"
            running.cancel()
            raise
        finally:
            ready.cancel()


async def _close(bot: TTSBot) -> None:
    try:
        await asyncio.wait_for(bot.close(), CLOSE_TIMEOUT_S)
    except Exception as e:  # closing is best effort: the sockets go with the process
        log.warning("closing the Twitch bot failed: %s", _describe(e))
