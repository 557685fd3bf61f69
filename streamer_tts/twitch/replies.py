"""The bot's answers in chat: `!ttsqueue`, and refusals when `commands.replies` is on.

Replies are a courtesy, never a backlog: at most `MAX_PENDING_REPLIES` are
in flight, each with a timeout, and a failure is one warning.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ..core.decisions import Control, Rejected
from ..core.events import ChatTTS, Nick, Say, Unsay, UserVoice, Voice

if TYPE_CHECKING:
    from twitchio.ext import commands

__all__ = ["MAX_PENDING_REPLIES", "Replies"]

log = logging.getLogger(__name__)

MAX_PENDING_REPLIES = 5  # chat flooding us: stay quiet rather than queue replies
SEND_TIMEOUT_S = 10.0
MAX_REPLY_CHARS = 450  # under Twitch's 500, with room for the mention
_REASON_WORDS = {
    "rate_limited": "slow down a little",
    "user_limit": "you already have messages waiting",
    "not_allowed": "not allowed",
    "banned_word": "that word is not allowed",
    "link": "links are not read",
    "banned_user": "you are banned from TTS",
    "empty": "nothing left to read",
    "queue_full": "the queue is full, try later",
    "duplicate": "already read",
    "disabled": "TTS is off",
    "flood": "too many messages waiting, try later",
}


class Replies:
    def __init__(self, client: commands.Bot, *, enabled: bool) -> None:
        self._client = client
        self.enabled = enabled  # refusals; `!ttsqueue` is always answered
        self._pending: set[asyncio.Task[None]] = set()

    def on_decision(self, event: object, decision: object) -> None:
        if isinstance(decision, Control) and decision.action == "queue":
            self.say(f"@{decision.by} {decision.detail}")
        elif isinstance(event, ChatTTS) and event.unprompted:
            return  # read-all chat: a refusal is no one's request, stay quiet
        elif isinstance(decision, Control) and decision.action in ("approve", "reject"):
            if decision.approved is None and not decision.dropped:  # nothing matched
                self.say(f"@{decision.by} {decision.detail}")
        elif isinstance(event, Voice | UserVoice):
            self._voice(event, decision)
        elif isinstance(decision, Rejected) and isinstance(event, ChatTTS) and self.enabled:
            words = _REASON_WORDS.get(decision.reason, "refused")
            self.say(f"@{decision.user} not read: {words}")
        elif isinstance(event, Say | Unsay | Nick) and self.enabled:  # lexicon edits
            if isinstance(decision, Control):
                self.say(f"@{decision.by} {decision.detail}")
            elif isinstance(decision, Rejected):
                words = _REASON_WORDS.get(decision.reason, "refused")
                self.say(f"@{decision.user} not changed: {words}")

    def _voice(self, event: Voice | UserVoice, decision: object) -> None:
        """`!voice` alone is a question: always answered. A change or a refusal
        (unknown alias, one the role may not use) only with `commands.replies`."""
        if isinstance(decision, Control):
            if decision.voice is None or self.enabled:  # None: the list of choices
                self.say(f"@{decision.by} {decision.detail}")
        elif isinstance(decision, Rejected) and self.enabled:
            self.say(f"@{decision.user} voice not changed: {decision.detail}")

    def say(self, text: str) -> None:
        if len(self._pending) >= MAX_PENDING_REPLIES:
            return
        task = asyncio.create_task(self._send(text[:MAX_REPLY_CHARS]), name="twitch.reply")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send(self, text: str) -> None:
        client = self._client
        try:
            owner = client.create_partialuser(str(client.owner_id))
            await asyncio.wait_for(
                owner.send_message(text, sender=str(client.bot_id)), SEND_TIMEOUT_S
            )
        except Exception as e:
            log.warning("chat reply not sent: %s", e.__class__.__name__)
