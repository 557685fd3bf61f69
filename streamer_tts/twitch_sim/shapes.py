"""Twitch's shapes around the events, for the local simulator (:mod:`.server`), with no I/O.

The accounts the simulator knows, the EventSub envelopes (subscription objects,
notifications, session messages), the Helix and OAuth bodies, and Twitch's rules
for who may subscribe to what. The events inside the envelopes are built by
:mod:`.payloads`, which re-exports everything here.
"""

from __future__ import annotations

import datetime
import secrets
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "CHEERMOTE_PREFIXES", "CHEER_TIERS", "SUBSCRIPTION_RULES", "Event", "SimUser",
    "SubscriptionRule", "cheermotes_data", "error_body", "new_session_id", "notification_message",
    "session_message", "subscription_object", "timestamp", "user_data",
]  # fmt: skip

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


# The global cheermotes (see :func:`cheermotes_data`); chat text is parsed against them too.
CHEERMOTE_PREFIXES = ("Cheer", "BibleThump", "Kappa", "PogChamp")
CHEER_TIERS = (1, 100, 1000, 5000, 10000)  # Twitch's cheermote tiers, in bits
_TIER_COLOURS = ("#979797", "#9c3ee8", "#1db2a5", "#0099fe", "#f43021")


def timestamp(when: datetime.datetime | None = None) -> str:
    """RFC 3339 in UTC with nanosecond digits, as Twitch writes them."""
    return (when or datetime.datetime.now(datetime.UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


# --- EventSub envelopes ----------------------------------------------------------------------


def subscription_object(
    sub_id: str,
    sub_type: str,
    version: str,
    condition: Mapping[str, str],
    session_id: str,
    created_at: str,
) -> Event:
    """A subscription as notifications carry it (create/list add ``transport.connected_at``)."""
    return {
        "id": sub_id,
        "status": "enabled",
        "type": sub_type,
        "version": version,
        "condition": dict(condition),
        "transport": {"method": "websocket", "session_id": session_id},
        "created_at": created_at,
        "cost": 0,  # a WebSocket subscription authorised by the user costs nothing
    }


def _metadata(
    kind: str, message_id: str | None = None, sub: Mapping[str, Any] | None = None
) -> Event:
    meta = {
        "message_id": message_id or str(uuid.uuid4()),
        "message_type": kind,
        "message_timestamp": timestamp(),
    }
    return meta | (
        {"subscription_type": sub["type"], "subscription_version": sub["version"]} if sub else {}
    )


def notification_message(
    subscription: Mapping[str, Any], event: Event, *, message_id: str | None = None
) -> Event:
    """A ``notification``; Twitch redelivers by sending the same ``message_id`` again."""
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
        return {
            "metadata": _metadata(kind, sub=subscription),
            "payload": {"subscription": dict(subscription)},
        }
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


# --- Helix -----------------------------------------------------------------------------------


def user_data(user: SimUser) -> Event:
    image = (
        f"https://static-cdn.jtvnw.net/user-default-pictures-uv/{user.id}-profile_image-300x300.png"
    )
    return {
        "id": user.id, "login": user.login, "display_name": user.display_name, "type": "",
        "broadcaster_type": "", "description": "", "profile_image_url": image,
        "offline_image_url": "", "view_count": 0, "created_at": "2016-12-14T20:32:28Z",
    }  # fmt: skip


def cheermotes_data() -> list[Event]:
    """Global cheermotes with Twitch's five tiers; images as dark/light × animated/static × size."""
    base = "https://d3aqoihi2n8ty8.cloudfront.net/actions"

    def images(prefix: str, tier: int) -> Event:
        kinds = {"animated": "gif", "static": "png"}
        return {
            theme: {
                kind: {
                    s: f"{base}/{prefix.lower()}/{theme}/{kind}/{tier}/{s}.{ext}"
                    for s in ("1", "1.5", "2", "3", "4")
                }
                for kind, ext in kinds.items()
            }
            for theme in ("dark", "light")
        }

    def tier(prefix: str, bits: int, colour: str) -> Event:
        return {
            "min_bits": bits,
            "id": str(bits),
            "color": colour,
            "images": images(prefix, bits),
            "can_cheer": True,
            "show_in_bits_card": True,
        }

    return [
        {
            "prefix": prefix,
            "tiers": [
                tier(prefix, bits, colour)
                for bits, colour in zip(CHEER_TIERS, _TIER_COLOURS, strict=True)
            ],
            "type": "global_first_party",
            "order": order,
            "last_updated": "2018-05-22T00:06:04Z",
            "is_charitable": False,
        }
        for order, prefix in enumerate(CHEERMOTE_PREFIXES, start=1)
    ]


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
}


def error_body(status: int, message: str) -> Event:
    """Helix's error shape; TwitchIO matches ``message`` to decide on a token refresh."""
    return {"error": _REASONS.get(status, "Error"), "status": status, "message": message}


# --- who may subscribe to what ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubscriptionRule:
    """Twitch's rule for one type over WebSocket: the condition's user must be the token's."""

    version: str
    condition: tuple[str, ...]  # keys that must be non-empty
    token_user_key: str | None  # the condition key naming the token's user
    scopes: frozenset[str]  # any one of these suffices


def _rule(version: str, keys: tuple[str, ...], who: str | None, *scopes: str) -> SubscriptionRule:
    return SubscriptionRule(version, keys, who, frozenset(scopes))


_CHAT = _rule("1", ("broadcaster_user_id", "user_id"), "user_id", "user:read:chat")
_OWNER = ("broadcaster_user_id",)
SUBSCRIPTION_RULES: Mapping[str, SubscriptionRule] = {
    "channel.chat.message": _CHAT,
    "channel.chat.notification": _CHAT,
    "channel.chat.message_delete": _CHAT,
    "channel.chat.clear_user_messages": _CHAT,
    "channel.chat.clear": _CHAT,
    "channel.cheer": _rule("1", _OWNER, _OWNER[0], "bits:read"),
    "channel.subscribe": _rule("1", _OWNER, _OWNER[0], "channel:read:subscriptions"),
    "channel.subscription.message": _rule("1", _OWNER, _OWNER[0], "channel:read:subscriptions"),
    "channel.subscription.gift": _rule("1", _OWNER, _OWNER[0], "channel:read:subscriptions"),
    "channel.channel_points_custom_reward_redemption.add": _rule(
        "1", _OWNER, _OWNER[0], "channel:read:redemptions", "channel:manage:redemptions"
    ),
    "channel.follow": _rule(
        "2",
        ("broadcaster_user_id", "moderator_user_id"),
        "moderator_user_id",
        "moderator:read:followers",
    ),
    "channel.raid": _rule(
        "1", (), None
    ),  # no authorisation; exactly one of to_/from_broadcaster_user_id
}
