"""Stopping without losing a write: let the speaker finish, then flush the journal.

At stop the conductor's task still runs: the message on air may end within
the grace, and the task announces what the writer reports durable. So the
journal is flushed first and then the announcer drained; every wait is
bounded, so a stuck disk or engine delays shutdown by seconds, never forever.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .announce import Announcer
    from .core.playback import Playback
    from .journal.writer import JournalWriter

__all__ = ["play_out", "settle"]

log = logging.getLogger(__name__)


async def play_out(playback: Playback, *, grace_s: float) -> None:
    """Let what plays finish (the stop is already in the inbox), for up to `grace_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_s
    await asyncio.sleep(0)
    while not playback.idle and loop.time() < deadline:
        await asyncio.sleep(0.02)


async def settle(writer: JournalWriter, announcer: Announcer, *, timeout_s: float) -> None:
    """Wait until every write is durable and announced, for at most `timeout_s`."""

    async def settled() -> None:
        await writer.flush()
        while announcer.unannounced:
            await asyncio.sleep(0.005)

    try:
        await asyncio.wait_for(settled(), timeout_s)
    except TimeoutError:
        log.error("journal writes still pending at stop")
