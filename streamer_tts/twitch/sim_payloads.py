"""Twitch-shaped payloads for the local simulator (:mod:`.sim`).

Every builder returns the complete dict Twitch documents, with ``None`` (JSON
``null``) for each optional key: TwitchIO reads many keys with ``payload[...]``
and silently drops a notification that lacks one, so a fixture that merely
"looks right" can hide a lost event. Tests feed each builder through
TwitchIO's own parsing.
"""

from __future__ import annotations

import datetime
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ANONYMOUS_GIFTER",
    "EMOTES",
    "SUBSCRIPTION_RULES",
    "SimUser",
    "SubscriptionRule",
    "bits_use_event",
    "chat_message_event",
    "chat_notification_event",
    "cheer_event",
    "cheermotes_data",
    "clear_user_messages_event",
    "error_body",
    "follow_event",
    "fragments_for",
    "message_delete_event",
    "notification_message",
    "raid_event",
    "redemption_add_event",
    "session_message",
    "subscribe_event",
    "subscription_gift_event",
    "subscription_message_event",
    "subscription_object",
    "timestamp",
    "user_data",
]

Event = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SimUser:
    """A Twitch account; ``scopes`` are those of the token the simulator issues it."""

    id: str
    login: str
    display_name: str = ""
    scopes: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.display_name:
            object.__setattr__(self, "display_name", self.login.capitalize())


# Twitch credits anonymous gifts to this real account (and sets chatter_is_anonymous).
ANONYMOUS_GIFTER = SimUser("274598607", "ananonymousgifter", "AnAnonymousGifter")

# A few global emotes: name -> emote id (global emotes have emote_set_id/owner_id "0").
EMOTES: Mapping[str, str] = {"Kappa": "25", "LUL": "425618", "HeyGuys": "30259", "PogChamp": "305954156"}
CHEERMOTE_PREFIXES = ("cheer", "biblethump", "kappa", "pogchamp")
_CHEER_TIERS = ((10000, "#f43021"), (5000, "#0099fe"), (1000, "#1db2a5"), (100, "#9c3ee8"), (1, "#979797"))
_TIER_NAMES = {"1000": "Tier 1", "2000": "Tier 2", "3000": "Tier 3"}


def timestamp(when: datetime.datetime | None = None) -> str:
    """RFC 3339 in UTC with nanosecond digits, as Twitch writes them."""
    when = when or datetime.datetime.now(datetime.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def _user(prefix: str, user: SimUser | None) -> Event:
    return {
        f"{prefix}_id": user.id if user else None,
        f"{prefix}_login": user.login if user else None,
        f"{prefix}_name": user.display_name if user else None,
    }


def _cheer_tier(bits: int) -> int:
    return next(tier for tier, _ in _CHEER_TIERS if bits >= tier)


def _fragment(kind: str, text: str, **detail: Any) -> Event:
    return {"type": kind, "text": text, "cheermote": None, "emote": None, "mention": None} | detail


def fragments_for(text: str, users: Mapping[str, SimUser] | None = None) -> list[Event]:
    """Split chat text the way Twitch does: cheermotes, emotes, @mentions, and text between."""
    cheer = re.compile(rf"^({'|'.join(CHEERMOTE_PREFIXES)})(\d+)$", re.IGNORECASE)
    out: list[Event] = []
    for word in re.split(r"( )", text):
        special: Event | None = None
        if (m := cheer.match(word)) and int(m[2]) > 0:
            bits = int(m[2])
            cheermote = {"prefix": m[1].lower(), "bits": bits, "tier": _cheer_tier(bits)}
            special = _fragment("cheermote", word, cheermote=cheermote)
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
    """``"moderator"``, ``"subscriber/12"`` (IRC style) or a full badge dict."""
    out: list[Event] = []
    for badge in badges:
        if isinstance(badge, Mapping):
            out.append({"set_id": badge["set_id"], "id": badge["id"], "info": badge.get("info", "")})
            continue
        set_id, _, version = badge.partition("/")
        info = version if set_id in ("subscriber", "founder") else ""
        out.append({"set_id": set_id, "id": version or "1", "info": info})
    return out


def chat_message_event(
    broadcaster: SimUser,
    chatter: SimUser,
    text: str,
    *,
    badges: Iterable[str | Mapping[str, str]] = (),
    cheer_bits: int | None = None,
    fragments: Sequence[Event] | None = None,
    message_id: str | None = None,
    color: str = "",
    reward_id: str | None = None,
    message_type: str = "text",
    reply: Event | None = None,
    users: Mapping[str, SimUser] | None = None,
) -> Event:
    """``channel.chat.message``; ``cheer`` defaults to the sum of the cheermotes in the text."""
    frags = list(fragments) if fragments is not None else fragments_for(text, users)
    if cheer_bits is None:
        cheer_bits = sum(f["cheermote"]["bits"] for f in frags if f["type"] == "cheermote") or None
    return {
        **_user("broadcaster_user", broadcaster),
        **_user("chatter_user", chatter),
        "message_id": message_id or str(uuid.uuid4()),
        "message": {"text": text, "fragments": frags},
        "color": color,
        "badges": _badges(badges),
        "message_type": message_type,
        "cheer": {"bits": cheer_bits} if cheer_bits else None,
        "reply": reply,
        "channel_points_custom_reward_id": reward_id,
        "channel_points_animation_id": None,
        "source_broadcaster_user_id": None,
        "source_broadcaster_user_login": None,
        "source_broadcaster_user_name": None,
        "source_message_id": None,
        "source_badges": None,
        "is_source_only": None,
    }


def reply_object(parent: Event) -> Event:
    """The ``reply`` of a chat message answering ``parent`` (a chat message event)."""
    who = {k: parent[f"chatter_user_{k}"] for k in ("id", "login", "name")}
    return {
        "parent_message_id": parent["message_id"],
        "parent_message_body": parent["message"]["text"],
        **{f"parent_user_{k}": v for k, v in who.items()},
        "thread_message_id": parent["message_id"],
        **{f"thread_user_{k}": v for k, v in who.items()},
    }


_NOTICE_KEYS = (
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
    text: str = "",
    badges: Iterable[str | Mapping[str, str]] = (),
    message_id: str | None = None,
) -> Event:
    """``channel.chat.notification``: every notice object present, all but ``notice_type`` null.

    ``chatter=None`` means anonymous (Twitch names AnAnonymousGifter). Only the
    common kinds get a system message; others get a generic one.
    """
    if notice_type not in _NOTICE_KEYS:
        raise ValueError(f"unknown notice_type {notice_type!r}")
    who = chatter or ANONYMOUS_GIFTER
    return {
        **_user("broadcaster_user", broadcaster),
        **_user("chatter_user", who),
        "chatter_is_anonymous": chatter is None,
        "color": "",
        "badges": _badges(badges),
        "system_message": _system_message(notice_type, who, broadcaster, detail),
        "message_id": message_id or str(uuid.uuid4()),
        "message": {"text": text, "fragments": fragments_for(text)},
        "notice_type": notice_type,
        **{key: (detail if key == notice_type else None) for key in _NOTICE_KEYS},
        "source_broadcaster_user_id": None,
        "source_broadcaster_user_login": None,
        "source_broadcaster_user_name": None,
        "source_message_id": None,
        "source_badges": None,
        "is_source_only": None,
    }


def _system_message(kind: str, who: SimUser, broadcaster: SimUser, d: Event) -> str:
    tier = _TIER_NAMES.get(str(d.get("sub_tier")), "Tier 1")
    how = "with Prime" if d.get("is_prime") else f"at {tier}"
    match kind:
        case "sub":
            return f"{who.display_name} subscribed {how}."
        case "resub":
            streak = f", currently on a {d['streak_months']} month streak" if d["streak_months"] else ""
            months = d["cumulative_months"]
            return f"{who.display_name} subscribed {how}. They've subscribed for {months} months{streak}!"
        case "sub_gift":
            return f"{who.display_name} gifted a {tier} sub to {d['recipient_user_name']}!"
        case "community_sub_gift":
            return f"{who.display_name} is gifting {d['total']} {tier} Subs to {broadcaster.display_name}'s community!"
        case "raid":
            return f"{d['viewer_count']} raiders from {d['user_name']} have joined!"
    return f"{who.display_name}: {kind}"


def sub_detail(tier: str = "1000", *, is_prime: bool = False, duration_months: int = 1) -> Event:
    return {"sub_tier": tier, "is_prime": is_prime, "duration_months": duration_months}


def resub_detail(
    cumulative_months: int,
    tier: str = "1000",
    *,
    streak_months: int | None = None,
    duration_months: int = 1,
    is_prime: bool = False,
    gifter: SimUser | None = None,
    gifter_is_anonymous: bool | None = None,
) -> Event:
    return {
        "cumulative_months": cumulative_months,
        "duration_months": duration_months,
        "streak_months": streak_months,
        "sub_tier": tier,
        "is_prime": is_prime,
        "is_gift": gifter is not None or bool(gifter_is_anonymous),
        "gifter_is_anonymous": gifter_is_anonymous,
        **_user("gifter_user", gifter),
    }


def sub_gift_detail(
    recipient: SimUser,
    tier: str = "1000",
    *,
    duration_months: int = 1,
    cumulative_total: int | None = None,
    community_gift_id: str | None = None,
) -> Event:
    return {
        "duration_months": duration_months,
        "cumulative_total": cumulative_total,
        **_user("recipient_user", recipient),
        "sub_tier": tier,
        "community_gift_id": community_gift_id,
    }


def community_gift_detail(
    gift_id: str, total: int, tier: str = "1000", *, cumulative_total: int | None = None
) -> Event:
    return {"id": gift_id, "total": total, "sub_tier": tier, "cumulative_total": cumulative_total}


def raid_detail(raider: SimUser, viewers: int) -> Event:
    image = f"https://static-cdn.jtvnw.net/user-default-pictures-uv/{raider.id}-profile_image-70x70.png"
    return {**_user("user", raider), "viewer_count": viewers, "profile_image_url": image}


def message_delete_event(broadcaster: SimUser, target: SimUser, message_id: str) -> Event:
    return {**_user("broadcaster_user", broadcaster), **_user("target_user", target), "message_id": message_id}


def clear_user_messages_event(broadcaster: SimUser, target: SimUser) -> Event:
    return {**_user("broadcaster_user", broadcaster), **_user("target_user", target)}


def cheer_event(broadcaster: SimUser, user: SimUser | None, bits: int, message: str) -> Event:
    """``channel.cheer``: ``message`` is plain text with the cheermotes still in it."""
    return {
        "is_anonymous": user is None,
        **_user("user", user),
        **_user("broadcaster_user", broadcaster),
        "message": message,
        "bits": bits,
    }


def bits_use_event(broadcaster: SimUser, user: SimUser, bits: int, text: str) -> Event:
    return {
        **_user("broadcaster_user", broadcaster),
        **_user("user", user),
        "bits": bits,
        "type": "cheer",
        "message": {"text": text, "fragments": fragments_for(text)},
        "power_up": None,
    }


def subscribe_event(broadcaster: SimUser, user: SimUser, tier: str = "1000", *, is_gift: bool = False) -> Event:
    return {**_user("user", user), **_user("broadcaster_user", broadcaster), "tier": tier, "is_gift": is_gift}


def subscription_message_event(
    broadcaster: SimUser,
    user: SimUser,
    text: str,
    *,
    tier: str = "1000",
    cumulative_months: int = 2,
    streak_months: int | None = None,
    duration_months: int = 1,
) -> Event:
    """``channel.subscription.message``: a resub shared in chat (emote ranges are inclusive)."""
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
        "cumulative_months": cumulative_months,
        "streak_months": streak_months,
        "duration_months": duration_months,
    }


def subscription_gift_event(
    broadcaster: SimUser, gifter: SimUser | None, total: int, tier: str = "1000", *, cumulative_total: int | None = None
) -> Event:
    """``channel.subscription.gift``: gifter fields and cumulative_total are null when anonymous."""
    return {
        **_user("user", gifter),
        **_user("broadcaster_user", broadcaster),
        "total": total,
        "tier": tier,
        "cumulative_total": cumulative_total if gifter else None,
        "is_anonymous": gifter is None,
    }


def redemption_add_event(
    broadcaster: SimUser, user: SimUser, reward: Mapping[str, Any], user_input: str = ""
) -> Event:
    """``...custom_reward_redemption.add``; ``reward`` is ``{id, title, cost, prompt}``."""
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
    return {**_user("user", user), **_user("broadcaster_user", broadcaster), "followed_at": timestamp()}


def raid_event(raider: SimUser, target: SimUser, viewers: int) -> Event:
    return {**_user("from_broadcaster_user", raider), **_user("to_broadcaster_user", target), "viewers": viewers}


# --- EventSub envelopes -------------------------------------------------------------------


def subscription_object(
    sub_id: str,
    sub_type: str,
    version: str,
    condition: Mapping[str, str],
    session_id: str,
    created_at: str,
    *,
    status: str = "enabled",
    connected_at: str | None = None,
) -> Event:
    """A subscription as Twitch lists it; ``connected_at`` only in the create/list responses."""
    transport: Event = {"method": "websocket", "session_id": session_id}
    if connected_at:
        transport["connected_at"] = connected_at
    return {
        "id": sub_id,
        "status": status,
        "type": sub_type,
        "version": version,
        "condition": dict(condition),
        "transport": transport,
        "created_at": created_at,
        "cost": 0,  # a WebSocket subscription authorised by the user costs nothing
    }


def _metadata(kind: str, message_id: str | None = None, sub: Mapping[str, Any] | None = None) -> Event:
    meta: Event = {"message_id": message_id or str(uuid.uuid4()), "message_type": kind, "message_timestamp": timestamp()}
    if sub is not None:
        meta |= {"subscription_type": sub["type"], "subscription_version": sub["version"]}
    return meta


def notification_message(subscription: Mapping[str, Any], event: Event, *, message_id: str | None = None) -> Event:
    """A ``notification``; resending the same ``message_id`` is how Twitch redelivers."""
    return {
        "metadata": _metadata("notification", message_id, subscription),
        "payload": {"subscription": dict(subscription), "event": event},
    }


def session_message(
    kind: str,
    session_id: str = "",
    *,
    connected_at: str = "",
    keepalive_s: int | None = None,
    reconnect_url: str | None = None,
    subscription: Mapping[str, Any] | None = None,
) -> Event:
    """``session_welcome`` / ``session_reconnect`` / ``session_keepalive`` / ``revocation``."""
    if kind == "session_keepalive":
        return {"metadata": _metadata(kind), "payload": {}}
    if kind == "revocation":
        assert subscription is not None
        return {"metadata": _metadata(kind, sub=subscription), "payload": {"subscription": dict(subscription)}}
    session = {
        "id": session_id,
        "status": "connected" if kind == "session_welcome" else "reconnecting",
        "connected_at": connected_at,
        "keepalive_timeout_seconds": keepalive_s,
        "reconnect_url": reconnect_url,
        "recovery_url": None,
    }
    return {"metadata": _metadata(kind), "payload": {"session": session}}


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


# --- Helix ----------------------------------------------------------------------------


def user_data(user: SimUser, created_at: str = "2016-12-14T20:32:28Z") -> Event:
    image = f"https://static-cdn.jtvnw.net/user-default-pictures-uv/{user.id}-profile_image-300x300.png"
    return {
        "id": user.id,
        "login": user.login,
        "display_name": user.display_name,
        "type": "",
        "broadcaster_type": "",
        "description": "",
        "profile_image_url": image,
        "offline_image_url": "",
        "view_count": 0,
        "created_at": created_at,
    }


def cheermotes_data() -> list[Event]:
    """Global cheermotes with Twitch's five tiers (1, 100, 1000, 5000, 10000 bits)."""

    def images(prefix: str, tier: int) -> Event:
        base = f"https://d3aqoihi2n8ty8.cloudfront.net/actions/{prefix}"
        sizes = ("1", "1.5", "2", "3", "4")
        kinds = {"animated": "gif", "static": "png"}
        return {
            theme: {kind: {s: f"{base}/{theme}/{kind}/{tier}/{s}.{ext}" for s in sizes} for kind, ext in kinds.items()}
            for theme in ("dark", "light")
        }

    return [
        {
            "prefix": prefix.capitalize() if prefix == "cheer" else prefix,
            "tiers": [
                {
                    "min_bits": tier,
                    "id": str(tier),
                    "color": color,
                    "images": images(prefix, tier),
                    "can_cheer": True,
                    "show_in_bits_card": True,
                }
                for tier, color in reversed(_CHEER_TIERS)
            ],
            "type": "global_first_party",
            "order": order,
            "last_updated": "2018-05-22T00:06:04Z",
            "is_charitable": False,
        }
        for order, prefix in enumerate(CHEERMOTE_PREFIXES, start=1)
    ]


_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict"}


def error_body(status: int, message: str) -> Event:
    """Helix's error shape; TwitchIO matches ``message`` to decide on a token refresh."""
    return {"error": _REASONS.get(status, "Error"), "status": status, "message": message}


# --- Who may subscribe to what -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubscriptionRule:
    """Twitch's rule for one type over WebSocket: the condition user must be the token's."""

    version: str
    condition: tuple[str, ...]  # keys that must be non-empty
    token_user_key: str | None  # condition key naming the token's user
    scopes: frozenset[str]  # any one of these suffices


def _rule(version: str, keys: tuple[str, ...], who: str | None, *scopes: str) -> SubscriptionRule:
    return SubscriptionRule(version, keys, who, frozenset(scopes))


_CHAT = _rule("1", ("broadcaster_user_id", "user_id"), "user_id", "user:read:chat")
_SUBS = _rule("1", ("broadcaster_user_id",), "broadcaster_user_id", "channel:read:subscriptions")
_BITS = _rule("1", ("broadcaster_user_id",), "broadcaster_user_id", "bits:read")
SUBSCRIPTION_RULES: Mapping[str, SubscriptionRule] = {
    "channel.chat.message": _CHAT,
    "channel.chat.notification": _CHAT,
    "channel.chat.message_delete": _CHAT,
    "channel.chat.clear_user_messages": _CHAT,
    "channel.chat.clear": _CHAT,
    "channel.cheer": _BITS,
    "channel.bits.use": _BITS,
    "channel.subscribe": _SUBS,
    "channel.subscription.message": _SUBS,
    "channel.subscription.gift": _SUBS,
    "channel.channel_points_custom_reward_redemption.add": _rule(
        "1", ("broadcaster_user_id",), "broadcaster_user_id",
        "channel:read:redemptions", "channel:manage:redemptions",
    ),  # fmt: skip
    "channel.follow": _rule(
        "2", ("broadcaster_user_id", "moderator_user_id"), "moderator_user_id", "moderator:read:followers"
    ),
    "channel.raid": _rule("1", (), None),  # no authorisation; one of to_/from_broadcaster_user_id
}
