"""The bot's one component: Twitch events in, core events out.

Each listener converts and calls `submit()` before any await of its own
(TwitchIO runs every listener as a task); a payload that cannot be
converted is logged and ignored, never fatal.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import twitchio
from twitchio.ext import commands

from .. import logs
from ..config.schema import Commands
from . import convert

__all__ = ["EventSink", "TTSComponent"]

log = logging.getLogger(__name__)

_KEYS = ("tts", "skip", "clear", "pause", "resume", "queue", "ban", "unban", "voice", "ttsvoice")


class EventSink(Protocol):
    """What the component needs of the bot (the bot imports us, not the other way)."""

    @property
    def bot_id(self) -> str | None: ...

    def submit(self, event: object) -> bool: ...


class TTSComponent(commands.Component):
    def __init__(self, bot: EventSink, commands_config: Commands) -> None:
        self.bot = bot
        c = commands_config
        self.commands = {getattr(c, key).name.lower(): key for key in _KEYS}

    def _submit(self, build: Any, *args: Any) -> None:
        try:
            event = build(*args)
        except Exception as e:  # hostile or malformed payload: one line, go on
            logs.emit(
                logs.TWITCH_BAD_PAYLOAD,
                kind=getattr(build, "__name__", "?"),
                error=f"{e.__class__.__name__}: {e}"[:200],
            )
            return
        if event is not None:
            self.bot.submit(event)

    @commands.Component.listener()
    async def event_message(self, payload: twitchio.ChatMessage) -> None:
        if str(payload.chatter.id) == str(self.bot.bot_id):
            return  # our own replies
        self._submit(convert.chat_event, payload, self.commands)

    @commands.Component.listener()
    async def event_chat_notification(self, payload: twitchio.ChatNotification) -> None:
        self._submit(convert.notification_event, payload)

    @commands.Component.listener()
    async def event_message_delete(self, payload: twitchio.ChatMessageDelete) -> None:
        self._submit(convert.delete_event, payload)

    @commands.Component.listener()
    async def event_chat_clear_user(self, payload: twitchio.ChannelChatClearUserMessages) -> None:
        self._submit(convert.clear_user_event, payload)

    @commands.Component.listener()
    async def event_cheer(self, payload: twitchio.ChannelCheer) -> None:
        self._submit(convert.money_event, payload)

    @commands.Component.listener()
    async def event_subscription(self, payload: twitchio.ChannelSubscribe) -> None:
        self._submit(convert.money_event, payload)

    @commands.Component.listener()
    async def event_subscription_message(
        self, payload: twitchio.ChannelSubscriptionMessage
    ) -> None:
        self._submit(convert.money_event, payload)

    @commands.Component.listener()
    async def event_subscription_gift(self, payload: twitchio.ChannelSubscriptionGift) -> None:
        self._submit(convert.money_event, payload)

    @commands.Component.listener()
    async def event_custom_redemption_add(
        self, payload: twitchio.ChannelPointsRedemptionAdd
    ) -> None:
        self._submit(convert.redemption_event, payload)

    @commands.Component.listener()
    async def event_follow(self, payload: twitchio.ChannelFollow) -> None:
        self._submit(convert.follow_event, payload)
