"""Twitch-shaped event payloads for the local simulator (:mod:`.server`), with no I/O.

Every builder returns the complete dict Twitch documents, with ``None`` (JSON
``null``) for each optional key: TwitchIO reads many keys with ``payload[...]``
and silently drops a notification that lacks one, so a fixture that merely
looks right can hide a lost event. The ``*_events`` functions say which
notifications one happening produces (a resub is a chat notice *and*
``channel.subscription.message``). Tests feed all of them through TwitchIO.

The chat-side builders live in :mod:`.chat_payloads`, the envelopes, Helix
bodies and subscription rules in :mod:`.shapes`; both are re-exported here, so
``payloads`` stays the one import for every payload.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .chat_payloads import (
    ANONYMOUS_CHEERER,
    ANONYMOUS_GIFTER,
    EMOTES,
    Notice,
    _user,
    chat_clear_event,
    chat_message_event,
    chat_notification_event,
    clear_user_messages_event,
    fragments_for,
    message_delete_event,
)
from .shapes import (
    SUBSCRIPTION_RULES,
    Event,
    SimUser,
    SubscriptionRule,
    cheermotes_data,
    error_body,
    notification_message,
    session_message,
    subscription_object,
    timestamp,
    user_data,
)
from .shapes import new_session_id as new_session_id

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "ANONYMOUS_CHEERER", "ANONYMOUS_GIFTER", "SUBSCRIPTION_RULES", "Event", "SimUser",
    "SubscriptionRule", "chat_clear_event", "chat_message_event", "chat_notification_event",
    "cheer_event", "cheer_events", "cheermotes_data", "clear_user_messages_event",
    "community_gift_events", "error_body", "follow_event", "fragments_for", "message_delete_event",
    "notification_message", "raid_event", "raid_events", "redemption_add_event", "resub_events",
    "session_message", "sub_events", "sub_gift_events", "subscribe_event",
    "subscription_gift_event", "subscription_message_event", "subscription_object", "timestamp",
    "user_data",
]  # fmt: skip


def cheer_event(broadcaster: SimUser, user: SimUser | None, bits: int, message: str) -> Event:
    """``channel.cheer``: ``message`` is plain text with the cheermotes still in it."""
    user_fields = _user("user", user)
    return {
        "is_anonymous": user is None,
        **user_fields,
        **_user("broadcaster_user", broadcaster),
        "message": message,
        "bits": bits,
    }


def subscribe_event(
    broadcaster: SimUser, user: SimUser, tier: str = "1000", *, is_gift: bool = False
) -> Event:
    return {
        **_user("user", user),
        **_user("broadcaster_user", broadcaster),
        "tier": tier,
        "is_gift": is_gift,
    }


def subscription_message_event(
    broadcaster: SimUser,
    user: SimUser,
    text: str,
    *,
    tier: str = "1000",
    months: int = 2,
    streak: int | None = None,
) -> Event:
    """``channel.subscription.message``: a resub shared in chat; emote ranges are inclusive."""
    emotes, pos = [], 0
    for word in text.split(" "):
        if word in EMOTES:
            emotes.append({"begin": pos, "end": pos + len(word) - 1, "id": EMOTES[word]})
        pos += len(word) + 1
    return {
        **_user("user", user),
        **_user("broadcaster_user", broadcaster),
        "tier": tier,
        "message": {"text": text, "emotes": emotes or None},
        "cumulative_months": months,
        "streak_months": streak,
        "duration_months": 1,
    }


def subscription_gift_event(
    broadcaster: SimUser,
    gifter: SimUser | None,
    total: int,
    tier: str = "1000",
    *,
    cumulative: int | None = None,
) -> Event:
    """``channel.subscription.gift``: gifter fields and ``cumulative_total`` null when anonymous."""
    return {
        **_user("user", gifter),
        **_user("broadcaster_user", broadcaster),
        "total": total,
        "tier": tier,
        "cumulative_total": cumulative if gifter else None,
        "is_anonymous": gifter is None,
    }


def redemption_add_event(
    broadcaster: SimUser, user: SimUser, reward: Mapping[str, Any], user_input: str = ""
) -> Event:
    """A channel-points redemption; ``reward`` has id, title, cost and prompt."""
    return {
        "id": str(uuid.uuid4()),
        **_user("broadcaster_user", broadcaster),
        **_user("user", user),
        "user_input": user_input,
        "status": "unfulfilled",
        "reward": {k: reward[k] for k in ("id", "title", "cost", "prompt")},
        "redeemed_at": timestamp(),
    }


def follow_event(broadcaster: SimUser, user: SimUser) -> Event:
    return {
        **_user("user", user),
        **_user("broadcaster_user", broadcaster),
        "followed_at": timestamp(),
    }


def raid_event(raider: SimUser, target: SimUser, viewers: int) -> Event:
    return {
        **_user("from_broadcaster_user", raider),
        **_user("to_broadcaster_user", target),
        "viewers": viewers,
    }


# --- what one happening sends: (subscription type, event) in Twitch's order -----------------

_TIER_NAMES = {"1000": "Tier 1", "2000": "Tier 2", "3000": "Tier 3"}


def cheer_events(broadcaster: SimUser, user: SimUser | None, bits: int, text: str) -> list[Notice]:
    """Bits cheered in chat: the chat message (cheermote added if missing) and ``channel.cheer``."""
    if not any(f["type"] == "cheermote" for f in fragments_for(text)):
        text = f"Cheer{bits} {text}".strip()
    chat = chat_message_event(broadcaster, user or ANONYMOUS_CHEERER, text, cheer_bits=bits)
    return [
        ("channel.chat.message", chat),
        ("channel.cheer", cheer_event(broadcaster, user, bits, text)),
    ]


def sub_events(
    broadcaster: SimUser, user: SimUser, tier: str = "1000", *, is_prime: bool = False
) -> list[Notice]:
    detail = {"sub_tier": tier, "is_prime": is_prime, "duration_months": 1}
    how = "with Prime" if is_prime else f"at {_TIER_NAMES[tier]}"
    notice = chat_notification_event(
        broadcaster, user, "sub", detail, system_message=f"{user.display_name} subscribed {how}."
    )
    return [
        ("channel.chat.notification", notice),
        ("channel.subscribe", subscribe_event(broadcaster, user, tier)),
    ]


def resub_events(
    broadcaster: SimUser,
    user: SimUser,
    months: int,
    text: str = "",
    *,
    tier: str = "1000",
    streak: int | None = None,
    is_prime: bool = False,
) -> list[Notice]:
    """A resub shared with a message: the chat notice and ``channel.subscription.message``."""
    detail = {
        "cumulative_months": months, "duration_months": 1, "streak_months": streak,
        "sub_tier": tier, "is_prime": is_prime, "is_gift": False, "gifter_is_anonymous": None,
        **_user("gifter_user", None),
    }  # fmt: skip
    how = "with Prime" if is_prime else f"at {_TIER_NAMES[tier]}"
    said = f"{user.display_name} subscribed {how}. "
    said += f"They've subscribed for {months} months!"
    notice = chat_notification_event(
        broadcaster, user, "resub", detail, system_message=said, text=text
    )
    shared = subscription_message_event(
        broadcaster, user, text, tier=tier, months=months, streak=streak
    )
    return [("channel.chat.notification", notice), ("channel.subscription.message", shared)]


def sub_gift_events(
    broadcaster: SimUser,
    gifter: SimUser | None,
    recipient: SimUser,
    tier: str = "1000",
    *,
    cumulative: int | None = None,
    community_gift_id: str | None = None,
) -> list[Notice]:
    """One gifted sub (``gifter=None``: anonymous).

    A lone gift also sends ``channel.subscription.gift``; one of a community gift does not.
    """
    detail = {
        "duration_months": 1, "cumulative_total": cumulative if gifter else None,
        **_user("recipient_user", recipient), "sub_tier": tier,
        "community_gift_id": community_gift_id,
    }  # fmt: skip
    giver = (gifter or ANONYMOUS_GIFTER).display_name
    said = f"{giver} gifted a {_TIER_NAMES[tier]} sub to {recipient.display_name}!"
    out: list[Notice] = []
    if community_gift_id is None:
        out.append(
            (
                "channel.subscription.gift",
                subscription_gift_event(broadcaster, gifter, 1, tier, cumulative=cumulative),
            )
        )
    notice = chat_notification_event(broadcaster, gifter, "sub_gift", detail, system_message=said)
    out += [
        ("channel.chat.notification", notice),
        ("channel.subscribe", subscribe_event(broadcaster, recipient, tier, is_gift=True)),
    ]
    return out


def community_gift_events(
    broadcaster: SimUser,
    gifter: SimUser | None,
    recipients: Sequence[SimUser],
    tier: str = "1000",
    *,
    cumulative: int | None = None,
) -> list[Notice]:
    """A mystery gift: the community notice, ``channel.subscription.gift``, a sub_gift each."""
    gift_id = str(uuid.uuid4().int % 10**19)
    total = len(recipients)
    detail = {
        "id": gift_id,
        "total": total,
        "sub_tier": tier,
        "cumulative_total": cumulative if gifter else None,
    }
    giver = (gifter or ANONYMOUS_GIFTER).display_name
    said = f"{giver} is gifting {total} {_TIER_NAMES[tier]} Subs to "
    said += f"{broadcaster.display_name}'s community!"
    notice = chat_notification_event(
        broadcaster, gifter, "community_sub_gift", detail, system_message=said
    )
    gift = subscription_gift_event(broadcaster, gifter, total, tier, cumulative=cumulative)
    out: list[Notice] = [("channel.chat.notification", notice), ("channel.subscription.gift", gift)]
    for recipient in recipients:
        out += sub_gift_events(
            broadcaster, gifter, recipient, tier, cumulative=cumulative, community_gift_id=gift_id
        )
    return out


def raid_events(broadcaster: SimUser, raider: SimUser, viewers: int) -> list[Notice]:
    image = (
        f"https://static-cdn.jtvnw.net/user-default-pictures-uv/{raider.id}-profile_image-70x70.png"
    )
    detail = {**_user("user", raider), "viewer_count": viewers, "profile_image_url": image}
    said = f"{viewers} raiders from {raider.display_name} have joined!"
    notice = chat_notification_event(broadcaster, raider, "raid", detail, system_message=said)
    return [
        ("channel.chat.notification", notice),
        ("channel.raid", raid_event(raider, broadcaster, viewers)),
    ]
