"""What an accepted event says: its bits, its template values, its caption kind.

Apart from admission, which decides *whether* an event is read; these only
describe *what* it is, one small function per question.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .events import (
    Announce,
    Cheer,
    Donation,
    GiftSubs,
    Incoming,
    Raid,
    Redemption,
    Subscription,
)
from .money import format_amount, spoken_amount, to_bits

if TYPE_CHECKING:
    from .rules import Rules

__all__ = ["bits_of", "kind_of", "template_values"]


def bits_of(event: Incoming, rules: Rules) -> int:
    """Bits, or a donation's worth in bits (an unknown currency: the lowest tier)."""
    if isinstance(event, Cheer):
        return event.amount_bits
    if isinstance(event, Donation):
        # by value in the base currency; an unknown currency by the lowest tier
        bits = to_bits(event.amount, event.currency, rules.money, rules.bits_per_unit)
        return rules.tiers.minimum_bits if bits is None else bits
    return 0


def template_values(event: Incoming, name: str, body: str, bits: int) -> dict[str, object]:
    """The `{placeholders}` a source's template may use, for this event."""
    values: dict[str, object] = {"user": name, "message": body, "bits": bits}
    if isinstance(event, Subscription):
        values |= {"tier": _tier_words(event.tier.value), "months": event.months}
    elif isinstance(event, GiftSubs):
        values |= {"count": event.count, "tier": _tier_words(event.tier.value)}
        if event.anonymous:
            values["user"] = "An anonymous gifter"
    elif isinstance(event, Redemption):
        values["reward"] = event.reward_title
    elif isinstance(event, Raid):
        values["viewers"] = event.viewers
    elif isinstance(event, Donation):
        values |= {
            "amount": format_amount(event.amount, event.currency),
            "currency": event.currency,
            "money": spoken_amount(event.amount, event.currency),
        }
    return values


def kind_of(event: Incoming, bits: int) -> str:
    """A short label of what it is, for captions: "cheer 500", "resub 12 months"."""
    if isinstance(event, Cheer):
        return f"cheer {bits}"
    if isinstance(event, Subscription):
        prime = "prime " if event.tier.value == "prime" else ""
        return f"{prime}resub {event.months} months" if event.months > 1 else f"{prime}sub"
    if isinstance(event, GiftSubs):
        return f"gift {event.count} sub" + ("s" if event.count > 1 else "")
    if isinstance(event, Donation):
        provider = getattr(event, "provider", "")  # a Tip names its provider
        via = f" via {provider}" if provider else ""
        return f"tip {format_amount(event.amount, event.currency)} {event.currency}{via}"
    if isinstance(event, Redemption):
        return f"channel points: {event.reward_title}"
    if isinstance(event, Raid):
        return f"raid {event.viewers}"
    if isinstance(event, Announce):
        return "announcement"
    return str(event.source)


def _tier_words(tier: str) -> str:
    return "Prime" if tier == "prime" else f"tier {tier}"
