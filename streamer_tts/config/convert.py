"""Validated config -> the plain rules the core applies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.commands import CommandKey
from ..core.decisions import Priority
from ..core.events import Role, Source
from ..core.filters import FilterRules, LinkAction, WordAction
from ..core.limits import LimitPolicy, RateSpec
from ..core.money import DEFAULT_RATES, MoneyRules
from ..core.permissions import DEFAULT_PERMISSIONS, Permissions
from ..core.rules import DEFAULT_SOURCES, NameMode, Rules, SourceRule
from ..core.tiers import Tier, TierTable

if TYPE_CHECKING:
    from .schema import Config, Rate
from ..core.voices import InlineMode, VoiceRules

__all__ = ["to_rules"]


def _rate(rate: Rate | None) -> RateSpec | None:
    return RateSpec(rate.rate, rate.per_seconds) if rate is not None else None


def to_rules(config: Config) -> Rules:
    sources = {}
    for source in Source:
        model = getattr(config.sources, source.value)
        default = DEFAULT_SOURCES[source]
        sources[source] = SourceRule(
            enabled=model.enabled,
            priority=Priority.parse(model.priority) if model.priority else default.priority,
            template=model.template or default.template,
            template_no_name=(
                model.template_no_name
                if model.template_no_name is not None or model.template is not None
                else default.template_no_name
            ),
            voice=model.voice,
            sound=model.sound,
            template_private=getattr(model, "tip_private", None) or default.template_private,
        )
    f = config.filters
    lim = config.limits
    return Rules(
        sources=sources,
        tiers=TierTable.of(
            Tier(t.min_bits, Priority.parse(t.priority), t.interrupt, t.voice, t.sound)
            for t in config.tiers
        ),
        bits_per_unit=config.sources.api.bits_per_unit,
        money=_money(config),
        filters=FilterRules(
            max_length=f.max_length,
            links=LinkAction(f.links),
            link_replacement=f.link_replacement,
            banned_words=tuple(w.lower() for w in f.banned_words),
            banned_words_action=WordAction(f.banned_words_action),
            mask=f.mask,
            max_repeat_chars=f.max_repeat_chars,
            max_repeat_words=f.max_repeat_words,
            strip_commands=f.strip_commands,
            emotes=f._emote_names,  # read from filters.emote_lists at load
        ),
        limits=LimitPolicy(
            per_user=_rate(lim.per_user),
            per_role={Role.parse(k): _rate(v) for k, v in lim.roles.items()},
            global_=_rate(lim.global_),
            max_pending_per_user=lim.max_pending_per_user,
            paid_exempt=lim.paid_exempt,
        ),
        permissions=Permissions(
            {  # API-only commands (remove) keep the core's role; the rest are configured
                **DEFAULT_PERMISSIONS,
                **{str(key): Role.parse(getattr(config.commands, key).allow) for key in CommandKey},
            }
        ),
        ignore_users=frozenset(u.strip().lower().lstrip("@") for u in config.sources.ignore_users),
        read_usernames=NameMode(config.sources.read_usernames),
        reward_titles=frozenset(t.strip().lower() for t in config.sources.redemption.rewards),
        raid_min_viewers=config.sources.raid.min_viewers,
        queue_max_size=config.queue.max_size,
        aging_seconds=config.queue.aging_seconds,
        clear_drops_paid=config.queue.clear_drops_paid,
        pronunciations=dict(config.pronunciations),
        self_nicknames=config.nicknames.self_,
        hold_seconds=config.moderation.hold_seconds,
        hold_paid=config.moderation.hold_paid,
        approval={
            Source(name): frozenset(Role.parse(r) for r in roles)
            for name, roles in config.moderation.approval.items()
        },
        approval_timeout_seconds=config.moderation.approval_timeout_seconds,
        flood_threshold=config.queue.flood_threshold,
        flood_min_priority=Priority.parse(config.queue.flood_min_priority),
        voices=to_voice_rules(config),
        reward_voices=_reward_voices(config),
        reward_sounds=_reward_sounds(config),
    )


def to_voice_rules(config: Config) -> VoiceRules:
    """The `voices:` section for the core; empty (today's one voice) without it."""
    v = config.voices
    if v is None:
        return VoiceRules()
    return VoiceRules(
        aliases=frozenset(v.aliases),
        default=v.default,
        pool=tuple(v.pool or sorted(v.aliases)),
        allow={
            Role.parse(role): None if names == "all" else frozenset(names)
            for role, names in v.allow.items()
        },
        by_language={k.strip().lower(): a for k, a in v.by_language.items()},
        inline=InlineMode(v.inline),
    )


def _reward_voices(config: Config) -> dict[str, str]:
    rewards = config.sources.redemption.rewards
    if not isinstance(rewards, dict):
        return {}
    return {t.strip().lower(): r.voice for t, r in rewards.items() if r.voice is not None}


def _reward_sounds(config: Config) -> dict[str, str]:
    rewards = config.sources.redemption.rewards
    if not isinstance(rewards, dict):
        return {}
    return {t.strip().lower(): r.sound for t, r in rewards.items() if r.sound is not None}


def _money(config: Config) -> MoneyRules:
    """The streamer's rates over the defaults, the defaults converted to the base."""
    base, given = config.money.base, config.money.rates
    base_default = DEFAULT_RATES.get(base)
    rates = dict(given)
    if base_default is not None:
        for code, usd in DEFAULT_RATES.items():
            rates.setdefault(code, usd / base_default)
    return MoneyRules(rates=rates, base=base)
