"""What the bot may do with the tokens it holds, and what it subscribes to.

Checked at start, before any subscription: a missing bot token or chat scope
is one line naming the fix (exit 2); a broadcaster scope that is missing only
turns that source off, with a warning.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from twitchio import eventsub

if TYPE_CHECKING:
    from collections.abc import Mapping, Set

    from ..config.schema import Config

__all__ = [
    "BOT_SCOPES",
    "BROADCASTER_SCOPES",
    "TwitchStartError",
    "broadcaster_wants",
    "check_scopes",
    "subscriptions",
]

log = logging.getLogger(__name__)

BOT_SCOPES = ("user:read:chat", "user:write:chat", "user:bot")
BROADCASTER_SCOPES = {
    "redemption": "channel:read:redemptions",
    "cheer": "bits:read",
    "subscription": "channel:read:subscriptions",
    "follow": "moderator:read:followers",
}


class TwitchStartError(Exception):
    """Twitch refused us for a reason the streamer must fix: a token, a scope,
    the app's credentials (exit 2; restarting cannot help)."""


def broadcaster_wants(config: Config) -> dict[str, str]:
    """Source -> the broadcaster scope it needs, for the sources enabled."""
    sources = config.sources
    wanted = {}
    if sources.redemption.enabled:
        wanted["redemption"] = BROADCASTER_SCOPES["redemption"]
    if sources.follow.enabled:
        wanted["follow"] = BROADCASTER_SCOPES["follow"]
    if config.twitch is not None and config.twitch.eventsub_money:
        wanted["cheer"] = BROADCASTER_SCOPES["cheer"]
        wanted["subscription"] = BROADCASTER_SCOPES["subscription"]
    return wanted


def check_scopes(
    scopes: Mapping[str, Set[str]], config: Config, *, bot_id: str, owner_id: str, where: str
) -> None:
    """Raise `TwitchStartError` for a missing bot token or chat scope; warn for the rest."""
    if bot_id not in scopes:
        raise TwitchStartError(
            f"no valid token for the bot account (user id {bot_id}) in {where}: "
            "run `make auth` (python bot.py auth) and log in as the bot"
        )
    if "user:read:chat" not in scopes[bot_id]:
        raise TwitchStartError(
            "the bot's token lacks the scope user:read:chat: run `make auth` again"
        )
    if owner_id in scopes:
        for source, scope in broadcaster_wants(config).items():
            if scope not in scopes[owner_id]:
                log.warning(
                    "the broadcaster's token lacks %s, so %s events are not "
                    "received: run `make auth` for the broadcaster",
                    scope,
                    source,
                )


def subscriptions(
    config: Config, *, bot_id: str, owner_id: str, owner_scopes: Set[str]
) -> list[tuple[eventsub.SubscriptionPayload, str]]:
    """(subscription payload, user id whose token holds it): chat on the bot's
    socket, broadcaster-side sources on the broadcaster's, if granted."""
    chat = {"broadcaster_user_id": owner_id, "user_id": bot_id}
    subs: list[tuple[eventsub.SubscriptionPayload, str]] = [
        (eventsub.ChatMessageSubscription(**chat), bot_id),
        (eventsub.ChatNotificationSubscription(**chat), bot_id),
        (eventsub.ChatMessageDeleteSubscription(**chat), bot_id),
        (eventsub.ChatClearUserMessagesSubscription(**chat), bot_id),
    ]
    wants = {k for k, scope in broadcaster_wants(config).items() if scope in owner_scopes}
    owner = {"broadcaster_user_id": owner_id}
    if "redemption" in wants:
        subs.append((eventsub.ChannelPointsRedeemAddSubscription(**owner), owner_id))
    if "follow" in wants:
        follow = eventsub.ChannelFollowSubscription(**owner, moderator_user_id=owner_id)
        subs.append((follow, owner_id))
    if "cheer" in wants:
        subs.append((eventsub.ChannelCheerSubscription(**owner), owner_id))
    if "subscription" in wants:
        subs += [
            (eventsub.ChannelSubscribeSubscription(**owner), owner_id),
            (eventsub.ChannelSubscribeMessageSubscription(**owner), owner_id),
            (eventsub.ChannelSubscriptionGiftSubscription(**owner), owner_id),
        ]
    return subs
