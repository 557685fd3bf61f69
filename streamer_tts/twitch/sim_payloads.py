"""Twitch-shaped event payloads for the local simulator (:mod:`.sim`), with no I/O.

Every builder returns the complete dict Twitch documents, with ``None`` (JSON
``null``) for each optional key: TwitchIO reads many keys with ``payload[...]``
and silently drops a notification that lacks one, so a fixture that merely
looks right can hide a lost event. The ``*_events`` functions say which
notifications one happening produces (a resub is a chat notice *and*
``channel.subscription.message``). Tests feed all of them through TwitchIO.

The envelopes around these events, the Helix bodies and the subscription rules
live in :mod:`.sim_helix`; they are re-exported here, so ``sim_payloads`` stays
the one import for every payload.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .sim_helix import (
    CHEER_TIERS,
    CHEERMOTE_PREFIXES,
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
from .sim_helix import new_session_id as new_session_id

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

Notice = tuple[str, Event]  # (subscription type, event)

# Twitch credits anonymous gifts and cheers in chat to these real accounts.
ANONYMOUS_GIFTER = SimUser("274598607", "ananonymousgifter", "AnAnonymousGifter")
ANONYMOUS_CHEERER = SimUser("407665396", "ananonymouscheerer", "AnAnonymousCheerer")
EMOTES: Mapping[str, str] = {
    "Kappa": "25",
    "LUL": "425618",
    "HeyGuys": "30259",
    "PogChamp": "305954156",
}
_CHEERMOTE = re.compile(rf"^({'|'.join(CHEERMOTE_PREFIXES)})(\d+)$", re.IGNORECASE)


def _user(prefix: str, user: SimUser | None) -> Event:
    keys = (f"{prefix}_id", f"{prefix}_login", f"{prefix}_name")
    return dict(
        zip(keys, (user.id, user.login, user.display_name) if user else (None,) * 3, strict=True)
    )


def _fragment(kind: str, text: str, **detail: Any) -> Event:
    return {"type": kind, "text": text, "cheermote": None, "emote": None, "mention": None} | detail


def fragments_for(text: str, users: Mapping[str, SimUser] | None = None) -> list[Event]:
    """Split chat text as Twitch does: cheermotes, emotes, known @mentions, and text between."""
    out: list[Event] = []
    for word in re.split(r"( )", text):
        special: Event | None = None
        if (m := _CHEERMOTE.match(word)) and int(m[2]) > 0:
            bits = int(m[2])
            tier = max(t for t in CHEER_TIERS if t <= bits)
            special = _fragment(
                "cheermote", word, cheermote={"prefix": m[1].lower(), "bits": bits, "tier": tier}
            )
        elif word in EMOTES:
            emote = {"id": EMOTES[word], "emote_set_id": "0", "owner_id": "0", "format": ["static"]}
            special = _fragment("emote", word, emote=emote)
        elif word.startswith("@") and users and (u := users.get(word[1:].lower())):
            special = _fragment("mention", word, mention=_user("user", u))
        if special:
            out.append(special)
        elif word and out and out[-1]["type"] == "text":
            out[-1]["text"] += word
        elif word:
            out.append(_fragment("text", word))
    return out


def _badges(badges: Iterable[str | Mapping[str, str]]) -> list[Event]:
    """``"moderator"``, ``"subscriber/12"`` (IRC style: set/version) or a full badge dict."""
    out = []
    for badge in badges:
        if isinstance(badge, str):
            set_id, _, version = badge.partition("/")
            info = version if set_id in ("subscriber", "founder") else ""
            badge = {"set_id": set_id, "id": version or "1", "info": info}
        out.append({"set_id": badge["set_id"], "id": badge["id"], "info": badge.get("info", "")})
    return out


_SHARED_CHAT_NULLS: Event = {
    "source_broadcaster_user_id": None, "source_broadcaster_user_login": None,
    "source_broadcaster_user_name": None, "source_message_id": None, "source_badges": None,
    "is_source_only": None,
}  # fmt: skip


def chat_message_event(
    broadcaster: SimUser,
    chatter: SimUser,
    text: str,
    *,
    badges: Iterable[str | Mapping[str, str]] = (),
    cheer_bits: int | None = None,
    fragments: Sequence[Event] | None = None,
    message_id: str | None = None,
    reward_id: str | None = None,
    users: Mapping[str, SimUser] | None = None,
) -> Event:
    """``channel.chat.message``; ``cheer`` defaults to the sum of the cheermotes in the text."""
    frags = list(fragments) if fragments is not None else fragments_for(text, users)
    if cheer_bits is None:
        cheer_bits = sum(f["cheermote"]["bits"] for f in frags if f["type"] == "cheermote")
    return {
        **_user("broadcaster_user", broadcaster),
        **_user("chatter_user", chatter),
        "message_id": message_id or str(uuid.uuid4()),
        "message": {"text": text, "fragments": frags},
        "color": "",
        "badges": _badges(badges),
        "message_type": "text",
        "cheer": {"bits": cheer_bits} if cheer_bits else None,
        "reply": None,
        "channel_points_custom_reward_id": reward_id,
        "channel_points_animation_id": None,
        **_SHARED_CHAT_NULLS,
    }


NOTICE_TYPES = (
    "sub", "resub", "sub_gift", "community_sub_gift", "gift_paid_upgrade", "prime_paid_upgrade",
    "raid", "unraid", "pay_it_forward", "announcement", "bits_badge_tier", "charity_donation",
    "watch_streak", "modiversary", "shared_chat_sub", "shared_chat_resub", "shared_chat_sub_gift",
    "shared_chat_community_sub_gift", "shared_chat_gift_paid_upgrade",
    "shared_chat_prime_paid_upgrade", "shared_chat_raid", "shared_chat_pay_it_forward",
    "shared_chat_announcement", "shared_chat_modiversary",
)  # fmt: skip


def chat_notification_event(
    broadcaster: SimUser,
    chatter: SimUser | None,
    notice_type: str,
    detail: Event,
    *,
    system_message: str = "",
    text: str = "",
    message_id: str | None = None,
) -> Event:
    """``channel.chat.notification``: every notice object present, all but ``notice_type``'s null.

    ``chatter=None`` is anonymous (credited to AnAnonymousGifter, as Twitch does).
    """
    if notice_type not in NOTICE_TYPES:
        raise ValueError(f"unknown notice_type {notice_type!r}")
    return {
        **_user("broadcaster_user", broadcaster),
        **_user("chatter_user", chatter or ANONYMOUS_GIFTER),
        "chatter_is_anonymous": chatter is None,
        "color": "",
        "badges": [],
        "system_message": system_message,
        "message_id": message_id or str(uuid.uuid4()),
        "message": {"text": text, "fragments": fragments_for(text)},
        "notice_type": notice_type,
        **{key: (detail if key == notice_type else None) for key in NOTICE_TYPES},
        **_SHARED_CHAT_NULLS,
    }


def message_delete_event(broadcaster: SimUser, target: SimUser, message_id: str) -> Event:
    return {
        **_user("broadcaster_user", broadcaster),
        **_user("target_user", target),
        "message_id": message_id,
    }


def chat_clear_event(broadcaster: SimUser) -> Event:
    return _user("broadcaster_user", broadcaster)


def clear_user_messages_event(broadcaster: SimUser, target: SimUser) -> Event:
    return {**_user("broadcaster_user", broadcaster), **_user("target_user", target)}


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
