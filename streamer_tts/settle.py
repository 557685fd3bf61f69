"""Stopping without losing a write: flush the journal, then its announcements.

At stop the conductor's task still runs: it announces what the writer reports
durable. So the journal is flushed first and then the announcer drained, both
bounded, so a stuck disk delays shutdown by seconds, never forever.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .announce import Announcer
    from .journal.writer import JournalWriter

__all__ = ["settle"]

log = logging.getLogger(__name__)


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
