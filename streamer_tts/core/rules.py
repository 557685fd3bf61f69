"""The rules the admission core applies, as plain frozen data.

Built from the validated config by `streamer_tts.config`, or directly in
tests. Keeping them separate from pydantic keeps the core stdlib-only.
"""

from __future__ import annotations

import enum
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .decisions import Priority
from .events import Role, Source
from .filters import FilterRules
from .limits import LimitPolicy
from .money import MoneyRules
from .permissions import Permissions
from .templates import render
from .tiers import Tier, TierTable
from .voices import VoiceRules

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_SOURCES",
    "PLACEHOLDERS",
    "NameMode",
    "Rules",
    "SourceRule",
    "render",
]


class NameMode(enum.StrEnum):
    """When to read who sent a message."""

    ALWAYS = "always"
    NEVER = "never"
    ON_CHANGE = "on_change"  # only when the speaker differs from the last one


@dataclass(frozen=True, slots=True)
class SourceRule:
    """How one source is spoken. `template_no_name` is used when the name is
    not read; a source without one always reads the name."""

    enabled: bool = True
    priority: Priority = Priority.NORMAL
    template: str = "{user}: {message}"
    template_no_name: str | None = None
    voice: str | None = None
    template_private: str | None = None  # a tip whose tipper hid name and message
    sound: str | None = None  # an alert sound before each message


_TIP_FIELDS = frozenset({"user", "message", "amount", "currency", "money"})

# The placeholders each source's template may use (checked at config load).
PLACEHOLDERS: Mapping[Source, frozenset[str]] = {
    Source.CHAT: frozenset({"user", "message"}),
    Source.CHEER: frozenset({"user", "message", "bits"}),
    Source.SUBSCRIPTION: frozenset({"user", "message", "tier", "months"}),
    Source.GIFT: frozenset({"user", "count", "tier"}),
    Source.REDEMPTION: frozenset({"user", "message", "reward"}),
    Source.RAID: frozenset({"user", "viewers"}),
    Source.FOLLOW: frozenset({"user"}),
    Source.API: _TIP_FIELDS,
    Source.STREAMELEMENTS: _TIP_FIELDS,
    Source.STREAMLABS: _TIP_FIELDS,
    Source.KOFI: _TIP_FIELDS,
}

_TIP_TEMPLATE = "{user} tipped {money}: {message}"
_TIP_PRIVATE = "Someone tipped {money}"

DEFAULT_SOURCES: Mapping[Source, SourceRule] = {
    Source.CHAT: SourceRule(True, Priority.LOW, "{user} says: {message}", "{message}"),
    Source.CHEER: SourceRule(True, Priority.NORMAL, "{user} cheered {bits} bits: {message}"),
    Source.SUBSCRIPTION: SourceRule(
        True, Priority.HIGH, "{user} subscribed for {months} months: {message}"
    ),
    Source.GIFT: SourceRule(True, Priority.HIGH, "{user} gifted {count} subs"),
    Source.REDEMPTION: SourceRule(True, Priority.NORMAL, "{user} says: {message}"),
    Source.RAID: SourceRule(True, Priority.NORMAL, "{user} is raiding with {viewers} viewers"),
    Source.FOLLOW: SourceRule(False, Priority.LOW, "Thanks for the follow, {user}"),
    Source.API: SourceRule(True, Priority.NORMAL, _TIP_TEMPLATE),
    # tip providers: off until configured (each needs its own secret)
    Source.STREAMELEMENTS: SourceRule(False, Priority.NORMAL, _TIP_TEMPLATE),
    Source.STREAMLABS: SourceRule(False, Priority.NORMAL, _TIP_TEMPLATE),
    Source.KOFI: SourceRule(False, Priority.NORMAL, _TIP_TEMPLATE, template_private=_TIP_PRIVATE),
}


@dataclass(frozen=True, slots=True)
class Rules:
    sources: Mapping[Source, SourceRule] = field(default_factory=lambda: dict(DEFAULT_SOURCES))
    tiers: TierTable = field(
        default_factory=lambda: TierTable.of(
            [
                Tier(1000, Priority.URGENT),
                Tier(500, Priority.HIGH),
                Tier(100, Priority.NORMAL),
            ]
        )
    )
    bits_per_unit: float = 100.0
    money: MoneyRules = field(default_factory=MoneyRules)
    filters: FilterRules = field(default_factory=FilterRules)
    limits: LimitPolicy = field(default_factory=LimitPolicy)
    permissions: Permissions = field(default_factory=Permissions)
    ignore_users: frozenset[str] = frozenset(
        {"nightbot", "streamelements", "streamlabs", "moobot", "fossabot", "wizebot"}
    )
    read_usernames: NameMode = NameMode.ON_CHANGE
    reward_titles: frozenset[str] = frozenset({"tts"})  # lowercase; empty = every reward
    raid_min_viewers: int = 1
    queue_max_size: int = 100
    aging_seconds: float | None = 120.0
    clear_drops_paid: bool = False
    name_max_length: int = 40
    pronunciations: Mapping[str, str] = field(default_factory=dict[str, str])  # term -> respelling
    self_nicknames: bool = False  # `!nick <name>`: viewers name themselves
    # moderation: a free message waits this long before it may play
    hold_seconds: float = 0.0
    hold_paid: bool = False
    # per source, the roles (a sender's highest) whose messages wait for a mod's OK
    approval: Mapping[Source, frozenset[Role]] = field(default_factory=lambda: {})
    approval_timeout_seconds: float = 300.0
    # flood mode: on above this many free messages waiting, off below half
    flood_threshold: int = 20
    flood_min_priority: Priority = Priority.HIGH  # free messages below it are refused meanwhile
    voices: VoiceRules = field(default_factory=VoiceRules)
    reward_voices: Mapping[str, str] = field(
        default_factory=dict[str, str]
    )  # lowercase title -> alias
    reward_sounds: Mapping[str, str] = field(default_factory=dict[str, str])  # title -> sound


_FORMATTER = string.Formatter()


def template_fields(template: str) -> set[str]:
    """The placeholder names a template uses (raises ValueError if malformed)."""
    return {name for _, name, _, _ in _FORMATTER.parse(template) if name is not None}
