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

from . import logs
from .audio.outputs import OutputError
from .audio.player import Player
from .conductor import Conductor
from .config import Config, secrets_of, to_rules
from .core.admission import Admission
from .limiter import aiolimiter_gate
from .speech.base import EngineConfigError
from .speech.build import build_engines

__all__ = ["Daemon", "StartupError", "run_daemon"]

STOP_GRACE_S = 5.0  # the message playing at SIGTERM may finish for this long


class StartupError(Exception):
    """A problem found at start that the streamer must fix (exit 2)."""


class Daemon:
    def __init__(self, config: Config, *, output: str | None = None) -> None:
        self.config = config
        self.admission = Admission(to_rules(config), aiolimiter_gate)
        audio = config.audio
        self.player = Player(
            engines=build_engines(config),
            output=output or audio.output,
            notify=lambda event: None,
            sample_rate=audio.sample_rate,
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


async def serve(config: Config, *, until: Callable[[Daemon], Awaitable[None]] | None = None) -> int:
    daemon = Daemon(config)
    try:
        await daemon.start()
    except StartupError as e:
        print(f"error: {e}", file=sys.stderr)
        await daemon.player.close()
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
