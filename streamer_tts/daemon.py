"""`bot.py run`: build the owners, run until SIGINT/SIGTERM, stop cleanly."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from . import logs
from .config import Config, secrets_of

__all__ = ["run_daemon"]


async def _serve(config: Config) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    logs.emit("daemon.started", engine=config.engine.primary, output=config.audio.output)
    await stop.wait()
    logs.emit("daemon.stopped")


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
    asyncio.run(_serve(config))
    return 0
