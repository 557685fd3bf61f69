"""TwitchIO models -> core events. Conversion only: no decisions here.

Ids: a chat message keeps Twitch's message id (a moderator's delete names
it); other notifications use the EventSub message id, which Twitch keeps on
redelivery, so the core's duplicate check catches a notification sent twice.
`via` tells the core which subscription reported a payment, so the same
cheer seen in chat and as `channel.cheer` is read once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import twitchio

from ..core.events import (
    Approve,
    Ban,
    ChatTTS,
    Cheer,
    Clear,
    Command,
    DeleteMessage,
    Follow,
    Fragment,
    FragmentKind,
    GiftSubs,
    Incoming,
    Nick,
    Pause,
    PurgeUser,
    QueueQuery,
    Raid,
    Redemption,
    Reject,
    Resume,
    Role,
    Say,
    SelfNick,
    Skip,
    Subscription,
    SubTier,
    Unban,
    Unsay,
    User,
    UserVoice,
    Voice,
)
from ..core.fields import clean_field

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "VIA_CHAT",
    "VIA_EVENTSUB",
    "chat_event",
    "clear_user_event",
    "delete_event",
    "eventsub_id",
    "follow_event",
    "login_of",
    "money_event",
    "notification_event",
    "redemption_event",
    "user_of",
]

VIA_CHAT = "chat"
VIA_EVENTSUB = "eventsub"

# the broadcaster-side payment notifications (`channel.cheer`, `channel.subscribe`, ...)
MoneyPayload = (
    twitchio.ChannelCheer
    | twitchio.ChannelSubscribe
    | twitchio.ChannelSubscriptionMessage
    | twitchio.ChannelSubscriptionGift
)
_FRAGMENT_KINDS = {k.value: k for k in FragmentKind}
_COMMANDS: Mapping[str, type[Command]] = {
    "skip": Skip,
    "clear": Clear,
    "pause": Pause,
    "resume": Resume,
    "queue": QueueQuery,
}


def eventsub_id(payload: object, fallback: str) -> str:
    """The EventSub message id (stable across redelivery), or a fallback."""
    metadata = getattr(payload, "metadata", None)
    message_id = getattr(metadata, "message_id", None) if metadata is not None else None
    return str(message_id) if message_id else fallback


def login_of(raw: object) -> str:
    """A Twitch login as the core and the log see it: clean, lowercase, maybe empty."""
    return clean_field(str(raw or "")).lower()


def user_of(partial: twitchio.PartialUser, *, roles: Iterable[Role] = ()) -> User:
    """Login and display name cleaned (`clean_field`): they reach the log, the
    pages and the voice, and Twitch lets display names hold any Unicode."""
    login = login_of(getattr(partial, "name", None))
    if not login:
        login = f"id{clean_field(str(getattr(partial, 'id', '')))}"
    display = clean_field(str(getattr(partial, "display_name", None) or "")) or login
    return User(login, display, frozenset(roles))


def _roles(chatter: twitchio.Chatter) -> set[Role]:
    roles: set[Role] = set()
    for attr, role in (
        ("broadcaster", Role.BROADCASTER),
        ("moderator", Role.MODERATOR),
        ("vip", Role.VIP),
        ("subscriber", Role.SUBSCRIBER),
    ):
        try:
            if getattr(chatter, attr):
                roles.add(role)
        except (AttributeError, KeyError, TypeError):
            continue
    return roles


def _fragments(raw: Iterable[twitchio.ChatMessageFragment] | None) -> tuple[Fragment, ...]:
    out = []
    for f in raw or ():
        kind = _FRAGMENT_KINDS.get(getattr(f, "type", "text"))
        if kind is not None and kind is not FragmentKind.TEXT:
            out.append(Fragment(kind, str(f.text)))
    return tuple(out)


def chat_event(
    message: twitchio.ChatMessage,
    commands: Mapping[str, str],
    prefix: str = "!",
    read_all: frozenset[Role] | None = None,
) -> object | None:
    """A chat message: a cheer, one of our commands, or nothing for us.

    `commands` maps the chat name (lowercase, without prefix) to the command
    key (tts, skip, ...), as configured. `read_all` (`sources.chat.mode: all`)
    names the roles whose every plain line is read without `!tts`
    (`Role.EVERYONE`: anyone's); a line starting with the prefix never is.
    """
    user = user_of(message.chatter, roles=_roles(message.chatter))
    text = str(message.text or "")
    fragments = _fragments(message.fragments)
    if message.cheer is not None and int(message.cheer.bits) > 0:
        return Cheer(
            id=str(message.id),
            user=user,
            amount_bits=int(message.cheer.bits),
            message=text,
            fragments=fragments,
            via=VIA_CHAT,
        )
    if message.channel_points_id:
        return None  # a channel-points message: read via its redemption, if at all
    body = text.strip()
    if body.startswith("@"):  # a reply in Twitch's UI starts with "@user "
        _, _, body = body.partition(" ")
        body = body.lstrip()
    if not body.startswith(prefix):
        if read_all is None or not _reads(user, read_all):
            return None
        return ChatTTS(
            id=str(message.id),
            user=user,
            message=text,
            fragments=fragments,
            via=VIA_CHAT,
            unprompted=True,
        )
    name, _, rest = body[len(prefix) :].partition(" ")
    key = commands.get(name.lower())
    if key is None:
        return None
    rest = rest.strip()
    if key == "tts":
        return ChatTTS(
            id=str(message.id), user=user, message=rest, fragments=fragments, via=VIA_CHAT
        )
    if key in ("ban", "unban"):
        target = login_of(rest.split()[0].lstrip("@")) if rest.split() else ""
        if not target:
            return None
        return (Ban if key == "ban" else Unban)(by=user, target=target)
    lexicon = _lexicon_command(key, user, rest)
    if lexicon is not None:
        return lexicon
    if key in ("approve", "reject"):  # !ttsok <n|user>
        target = rest.split()[0].lstrip("@") if rest.split() else ""
        if not target:
            return None
        return (Approve if key == "approve" else Reject)(by=user, target=target)
    if key == "voice":  # `!voice`, `!voice robot`, `!voice reset`
        return Voice(by=user, alias=(rest.split() or [""])[0])
    if key == "ttsvoice":
        words = rest.split()
        target = login_of(words[0].lstrip("@")) if words else ""
        if not target or len(words) < 2:
            return None
        return UserVoice(by=user, target=target, alias=words[1])
    command = _COMMANDS.get(key)
    return command(by=user) if command is not None else None


def _reads(user: User, roles: frozenset[Role]) -> bool:
    return Role.EVERYONE in roles or bool(user.roles & roles)


def _lexicon_command(key: str, user: User, rest: str) -> Command | None:
    """`!ttssay <word> <respelling>`, `!ttsunsay <word>`, `!ttsnick <user> <name>`,
    `!nick <name>`; None if a part is missing (nothing to do)."""
    first, _, tail = rest.partition(" ")
    tail = tail.strip()
    if key == "say":
        return Say(by=user, term=first, respelling=tail) if first and tail else None
    if key == "unsay":
        return Unsay(by=user, term=first) if first else None
    if key == "nick":
        target = login_of(first.lstrip("@"))
        return Nick(by=user, target=target, nickname=tail) if target and tail else None
    if key == "self_nick":
        return SelfNick(by=user, target=user.login, nickname=rest) if rest else None
    return None


def _tier(raw: object, *, prime: bool = False) -> SubTier:
    try:
        return SubTier.parse(str(raw or "1000"), is_prime=prime)
    except ValueError:
        return SubTier.TIER1


def notification_event(n: twitchio.ChatNotification) -> Incoming | None:
    """`channel.chat.notification`: sub, resub, gifts and raids from chat."""
    kind = n.notice_type
    mid = str(n.id)
    text = str(n.text or "")
    fragments = _fragments(n.fragments)
    if kind == "sub" and n.sub is not None:
        user = user_of(n.chatter)
        return Subscription(
            id=mid,
            user=user,
            tier=_tier(n.sub.tier, prime=n.sub.prime),
            months=max(1, int(n.sub.months or 1)),
            message=text,
            fragments=fragments,
            via=VIA_CHAT,
        )
    if kind == "resub" and n.resub is not None:
        user = user_of(n.chatter)
        months = int(n.resub.cumulative_months or n.resub.months or 1)
        return Subscription(
            id=mid,
            user=user,
            tier=_tier(n.resub.tier, prime=n.resub.prime),
            months=max(1, months),
            message=text,
            fragments=fragments,
            via=VIA_CHAT,
        )
    if kind == "sub_gift" and n.sub_gift is not None:
        if n.sub_gift.community_gift_id:
            return None  # one of a community gift's parts: the total is read once
        return GiftSubs(
            id=mid,
            user=user_of(n.chatter),
            count=1,
            tier=_tier(n.sub_gift.tier),
            anonymous=bool(n.anonymous),
            via=VIA_CHAT,
        )
    if kind == "community_sub_gift" and n.community_sub_gift is not None:
        return GiftSubs(
            id=mid,
            user=user_of(n.chatter),
            count=max(1, n.community_sub_gift.total),
            tier=_tier(n.community_sub_gift.tier),
            anonymous=bool(n.anonymous),
            via=VIA_CHAT,
        )
    if kind == "raid" and n.raid is not None:
        return Raid(id=mid, user=user_of(n.raid.user), viewers=int(n.raid.viewer_count or 0))
    return None


def money_event(payload: MoneyPayload) -> Incoming | None:
    """Broadcaster-side `channel.cheer` / `channel.subscribe` / `.subscription.*`."""
    mid = eventsub_id(payload, "")
    if not mid:
        return None
    partial = payload.user
    user = user_of(partial) if partial is not None else User("anonymous", "Anonymous")
    if isinstance(payload, twitchio.ChannelCheer):
        return Cheer(
            id=mid,
            user=user,
            amount_bits=int(payload.bits),
            message=str(payload.message or ""),
            via=VIA_EVENTSUB,
        )
    if isinstance(payload, twitchio.ChannelSubscribe):
        if payload.gift:
            return None  # the gifter's event carries it
        return Subscription(id=mid, user=user, tier=_tier(payload.tier), months=1, via=VIA_EVENTSUB)
    if isinstance(payload, twitchio.ChannelSubscriptionMessage):
        months = int(payload.cumulative_months or payload.months or 1)
        return Subscription(
            id=mid,
            user=user,
            tier=_tier(payload.tier),
            months=max(1, months),
            message=str(payload.text or ""),
            via=VIA_EVENTSUB,
        )
    return GiftSubs(
        id=mid,
        user=user,
        count=max(1, int(payload.total)),
        tier=_tier(payload.tier),
        anonymous=bool(payload.anonymous),
        via=VIA_EVENTSUB,
    )


def redemption_event(payload: twitchio.ChannelPointsRedemptionAdd) -> Redemption:
    return Redemption(
        id=str(payload.id),
        user=user_of(payload.user),
        reward_title=clean_field(str(payload.reward.title or "")),
        message=str(payload.user_input or ""),
    )


def follow_event(payload: twitchio.ChannelFollow) -> Follow:
    return Follow(id=eventsub_id(payload, f"follow:{payload.user.id}"), user=user_of(payload.user))


def delete_event(payload: twitchio.ChatMessageDelete) -> DeleteMessage:
    return DeleteMessage(message_id=str(payload.message_id))


def clear_user_event(payload: twitchio.ChannelChatClearUserMessages) -> PurgeUser:
    return PurgeUser(login=login_of(payload.user.name), reason="timeout or ban")
