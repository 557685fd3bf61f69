"""Chat-side payloads for the local simulator: messages, notices and moderation, with no I/O.

Every builder returns the complete dict Twitch documents, with ``None`` (JSON
``null``) for each optional key: TwitchIO reads many keys with ``payload[...]``
and silently drops a notification that lacks one. :mod:`.payloads` re-exports
all of them with the money-side builders.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

from .shapes import CHEER_TIERS, CHEERMOTE_PREFIXES, Event, SimUser

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "ANONYMOUS_CHEERER", "ANONYMOUS_GIFTER", "EMOTES", "NOTICE_TYPES", "Notice",
    "chat_clear_event", "chat_message_event", "chat_notification_event",
    "clear_user_messages_event", "fragments_for", "message_delete_event",
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


def _fragment(kind: str, text: str, **detail: object) -> Event:
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
