"""The commands a streamer or moderator can give, by their config key.

One list for the config (`commands.<key>`), the permissions, the control
API and chat, so adding a command cannot leave one of them behind. The chat
name of each (`!ttsskip` ...) is configuration, not this key.
"""

from __future__ import annotations

import enum

__all__ = ["CommandKey"]


class CommandKey(enum.StrEnum):
    TTS = "tts"
    SKIP = "skip"
    CLEAR = "clear"
    PAUSE = "pause"
    RESUME = "resume"
    QUEUE = "queue"
    BAN = "ban"
    UNBAN = "unban"
    SAY = "say"
    UNSAY = "unsay"
    NICK = "nick"
    SELF_NICK = "self_nick"
    APPROVE = "approve"  # a message waiting for a moderator's OK
    REJECT = "reject"
    VOICE = "voice"  # a viewer picks their own voice
    TTSVOICE = "ttsvoice"  # a moderator sets or resets a viewer's voice
