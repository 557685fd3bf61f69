"""Things happening on the simulated channel: chat, bits, subs, raids, redemptions, moderation.

:class:`SimEvents` is a mixin of :class:`.server.TwitchSim`, so tests and scripts
call ``sim.chat(...)``, ``sim.cheer(...)`` and the rest on the simulator. Each
happening sends every notification Twitch sends for it (built by
:mod:`.payloads`) to the sessions subscribed to them; chat seen so far is
remembered so a delete can name the message's author.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from .payloads import (
    chat_clear_event,
    chat_message_event,
    cheer_events,
    clear_user_messages_event,
    community_gift_events,
    follow_event,
    message_delete_event,
    raid_events,
    redemption_add_event,
    resub_events,
    sub_events,
    sub_gift_events,
)

if TYPE_CHECKING:
    from collections import Counter
    from collections.abc import Iterable, Mapping, Sequence

    from .shapes import Event, SimUser

MAX_REMEMBERED_MESSAGES = 2000  # chat kept to find a deleted message's author


class SimEvents:
    """The happenings API of :class:`.server.TwitchSim`."""

    # state set up by TwitchSim.__init__
    broadcaster: SimUser
    bot: SimUser
    moderators: set[str]
    _users: dict[str, SimUser]
    _messages: dict[str, Event]
    _rewards: dict[str, Event]
    _gift_totals: Counter[str]

    if TYPE_CHECKING:  # provided by TwitchSim and SimEventSub

        def user(self, who: str | SimUser) -> SimUser: ...

        async def send_raw(
            self, subscription_type: str, event: Event, *, message_id: str | None = None
        ) -> int: ...

    async def _emit(self, notices: Iterable[tuple[str, Event]]) -> None:
        for sub_type, event in notices:
            if sub_type == "channel.chat.message":
                self._messages[event["message_id"]] = event
                while len(self._messages) > MAX_REMEMBERED_MESSAGES:
                    del self._messages[next(iter(self._messages))]
            await self.send_raw(sub_type, event)

    async def chat(
        self,
        user: str | SimUser,
        text: str,
        *,
        badges: Iterable[str | Mapping[str, str]] | None = None,
        cheer_bits: int | None = None,
        fragments: Sequence[Event] | None = None,
        message_id: str | None = None,
        reward_id: str | None = None,
    ) -> Event:
        """A chat message; returns the event (its ``["message_id"]`` is what a delete names).

        Badges default to what Twitch shows: broadcaster, or moderator for :attr:`moderators`.
        """
        who = self.user(user)
        if badges is None and who == self.broadcaster:
            badges = ["broadcaster"]
        elif badges is None:
            badges = ["moderator"] if who.login in self.moderators else []
        event = chat_message_event(
            self.broadcaster, who, text, badges=badges, cheer_bits=cheer_bits, fragments=fragments,
            message_id=message_id, reward_id=reward_id, users=self._users,
        )  # fmt: skip
        await self._emit([("channel.chat.message", event)])
        return event

    async def cheer(
        self, user: str | SimUser, bits: int, text: str = "", *, anonymous: bool = False
    ) -> Event:
        """Bits in chat: the chat message and ``channel.cheer``; returns the chat event."""
        who = None if anonymous else self.user(user)
        notices = cheer_events(self.broadcaster, who, bits, text)
        await self._emit(notices)
        return notices[0][1]

    async def sub(self, user: str | SimUser, *, tier: str = "1000", is_prime: bool = False) -> None:
        await self._emit(sub_events(self.broadcaster, self.user(user), tier, is_prime=is_prime))

    async def resub(
        self,
        user: str | SimUser,
        months: int,
        text: str = "",
        *,
        tier: str = "1000",
        streak: int | None = None,
        is_prime: bool = False,
    ) -> None:
        """A resub shared with ``text``: the chat notice and ``channel.subscription.message``."""
        who, b = self.user(user), self.broadcaster
        notices = resub_events(b, who, months, text, tier=tier, streak=streak, is_prime=is_prime)
        await self._emit(notices)

    async def sub_gift(
        self, gifter: str | SimUser | None, recipient: str | SimUser, *, tier: str = "1000"
    ) -> None:
        """One gifted sub; ``gifter=None`` is anonymous."""
        giver, to = self._count_gifts(gifter, 1), self.user(recipient)
        total = self._gift_totals[giver.id] if giver else None
        await self._emit(sub_gift_events(self.broadcaster, giver, to, tier, cumulative=total))

    async def community_gift(
        self, gifter: str | SimUser | None, count: int, *, tier: str = "1000"
    ) -> list[SimUser]:
        """A mystery gift to ``count`` new viewers; returns them."""
        giver = self._count_gifts(gifter, count)
        recipients = [self.user(f"giftee{len(self._users) + 1}") for _ in range(count)]
        total = self._gift_totals[giver.id] if giver else None
        notices = community_gift_events(self.broadcaster, giver, recipients, tier, cumulative=total)
        await self._emit(notices)
        return recipients

    def _count_gifts(self, gifter: str | SimUser | None, count: int) -> SimUser | None:
        giver = self.user(gifter) if gifter else None
        if giver:
            self._gift_totals[giver.id] += count
        return giver

    async def raid(self, raider: str | SimUser, viewers: int = 10) -> None:
        await self._emit(raid_events(self.broadcaster, self.user(raider), viewers))

    async def redeem(
        self, user: str | SimUser, reward_title: str, text: str = "", *, cost: int = 100
    ) -> Event:
        """A channel-points redemption; with input it also shows in chat, tagged with the reward."""
        who = self.user(user)
        reward = self._rewards.setdefault(
            reward_title,
            {"id": str(uuid.uuid4()), "title": reward_title, "cost": cost, "prompt": ""},
        )
        event = redemption_add_event(self.broadcaster, who, reward, text)
        await self._emit([("channel.channel_points_custom_reward_redemption.add", event)])
        if text:
            await self.chat(who, text, reward_id=reward["id"])
        return event

    async def follow(self, user: str | SimUser) -> Event:
        event = follow_event(self.broadcaster, self.user(user))
        await self._emit([("channel.follow", event)])
        return event

    async def delete_message(self, message_id: str) -> Event:
        """A moderator deletes one message; its author comes from the chat seen so far."""
        original = self._messages.get(message_id)
        author = self.user(original["chatter_user_login"]) if original else self.bot
        event = message_delete_event(self.broadcaster, author, message_id)
        await self._emit([("channel.chat.message_delete", event)])
        return event

    async def clear_user(self, user: str | SimUser) -> Event:
        """A timeout or ban: Twitch clears that user's messages."""
        event = clear_user_messages_event(self.broadcaster, self.user(user))
        await self._emit([("channel.chat.clear_user_messages", event)])
        return event

    async def clear_chat(self) -> Event:
        """A moderator's ``/clear``: everything said so far is gone."""
        event = chat_clear_event(self.broadcaster)
        await self._emit([("channel.chat.clear", event)])
        return event

    def last_message_of(self, user: str | SimUser) -> str | None:
        login = self.user(user).login
        mine = (m for m, e in reversed(self._messages.items()) if e["chatter_user_login"] == login)
        return next(mine, None)
