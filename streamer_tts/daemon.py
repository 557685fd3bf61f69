"""`bot.py run`: build the owners, run until SIGINT/SIGTERM, stop cleanly.

Owners: the conductor task (admission core), the player (feed, output,
engines). Adapters only submit events to the conductor.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from . import logs
from .audio.outputs import OutputError, native_rate
from .audio.player import Player
from .conductor import Conductor
from .config import Config, secrets_of, to_rules
from .core.admission import Admission
from .limiter import aiolimiter_gate
from .speech.base import EngineConfigError
from .speech.build import build_engines

__all__ = ["Daemon", "StartupError", "run_daemon"]

STOP_GRACE_S = 5.0  # the message playing at SIGTERM may finish for this long
BOT_START_TIMEOUT_S = 30.0
DEFAULT_RATE_HZ = 22050  # files and `none`: Piper's own rate, no resampling


class StartupError(Exception):
    """A problem found at start that the streamer must fix (exit 2)."""


class Daemon:
    def __init__(self, config: Config, *, output: str | None = None) -> None:
        # The device callback is a Python thread: with the default 5 ms switch
        # interval, busy threads (Piper's, the bot's) can starve it into
        # underflows; 1 ms keeps it fed.
        sys.setswitchinterval(0.001)
        self.config = config
        self.admission = Admission(to_rules(config), aiolimiter_gate)
        audio = config.audio
        spec = output or audio.output
        self.player = Player(
            engines=build_engines(config),
            output=spec,
            notify=lambda event: None,
            sample_rate=audio.sample_rate or native_rate(spec, fallback_hz=DEFAULT_RATE_HZ),
            gap_ms=audio.gap_ms,
            volume=audio.volume,
            max_message_seconds=audio.max_message_seconds,
        )
        self.conductor = Conductor(self.admission, self.player)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            await self.player.start()
        except (EngineConfigError, OutputError) as e:
            raise StartupError(str(e)) from None
        self._task = asyncio.create_task(self.conductor.run(), name="conductor")
        logs.emit(
            "daemon.started", engine=self.player.engines[0].name, output=self.player.output.name
        )

    async def stop(self, *, grace_s: float = STOP_GRACE_S) -> None:
        await self.conductor.stop(grace_s=grace_s)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.player.close()
        logs.emit("daemon.stopped")


async def _start_bot(daemon: Daemon) -> tuple[Any, asyncio.Task[None]]:
    """Start the Twitch bot; returns once every subscription is up."""
    from .twitch.bot import TTSBot, TwitchStartError

    bot = TTSBot(daemon.config, daemon.conductor.submit)
    daemon.conductor.on_decision = bot.on_decision
    task = asyncio.create_task(bot.start(with_adapter=False), name="twitch")
    waiter = asyncio.create_task(bot.ready_event.wait())
    await asyncio.wait(
        {task, waiter}, timeout=BOT_START_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
    )
    waiter.cancel()
    problem: str | None = None
    if bot.start_error is not None:
        problem = str(bot.start_error)
    elif task.done():
        error = task.exception()
        problem = f"could not connect to Twitch: {error.__class__.__name__}: {error}"
    elif not bot.ready_event.is_set():
        problem = f"Twitch did not answer within {BOT_START_TIMEOUT_S:g} s"
    if problem is not None:
        with contextlib.suppress(Exception):
            await bot.close()
        task.cancel()
        raise TwitchStartError(problem)
    return bot, task


async def serve(
    config: Config,
    *,
    until: Callable[[Daemon], Awaitable[None]] | None = None,
    twitch: bool = True,
) -> int:
    from .twitch.bot import TwitchStartError

    try:
        daemon = Daemon(config)
    except OutputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    bot = None
    try:
        await daemon.start()
        if twitch:
            bot, _ = await _start_bot(daemon)
    except (StartupError, TwitchStartError) as e:
        print(f"error: {e}", file=sys.stderr)
        await daemon.stop(grace_s=0)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if until is not None:
            work = asyncio.create_task(until(daemon))
            waiter = asyncio.create_task(stop.wait())
            await asyncio.wait({work, waiter}, return_when=asyncio.FIRST_COMPLETED)
            for t in (work, waiter):
                t.cancel()
        else:
            await stop.wait()
    finally:
        if bot is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(bot.close(), 5)
        await daemon.stop()
    return 0


def run_daemon(config: Config, config_path: Path) -> int:
    logs.setup_logging(
        format=config.logging.format,
        file=config.logging.file,
        level=config.logging.level,
        secrets=secrets_of(config),
    )
    if config.twitch is None:
        print(
            f"config error: {config_path}: twitch: section missing "
            "(client_id, client_secret, bot_id and owner_id are needed to connect)",
            file=sys.stderr,
        )
        return 2
    return asyncio.run(serve(config))
