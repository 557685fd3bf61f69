"""`check-config`: the effective rules as a table a streamer can read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.commands import CommandKey
from ..core.events import Source

if TYPE_CHECKING:
    from ..core.limits import RateSpec
    from ..core.rules import Rules
    from .schema import Config

__all__ = ["rules_table"]

# money sources: the priority comes from the donation tiers
_BY_TIER = (Source.CHEER, Source.API, Source.STREAMELEMENTS, Source.STREAMLABS, Source.KOFI)


def _table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]

    def line(cells: tuple[str, ...]) -> str:
        return "  " + "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False))

    out = [title, line(header), "  " + "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def _rate(spec: RateSpec | None) -> str:
    if spec is None:
        return "unlimited"
    return f"{spec.rate} per {spec.per_seconds:g} s"


def rules_table(config: Config, rules: Rules) -> str:
    parts = []
    tiers = [
        (
            f">= {t.min_bits}",
            f"{t.min_bits / rules.bits_per_unit:.2f}",
            str(t.priority),
            "yes" if t.interrupt else "no",
            t.voice or "-",
        )
        for t in rules.tiers.tiers
    ]
    parts.append(
        _table(
            "Donation tiers (first match from the top wins)",
            ("bits", "money", "priority", "interrupt", "voice"),
            tiers,
        )
    )
    sources = [
        (
            s.value,
            "on" if r.enabled else "off",
            "by tier" if s in _BY_TIER else str(r.priority),
            r.template,
        )
        for s, r in rules.sources.items()
    ]
    parts.append(_table("Sources", ("source", "enabled", "priority", "template"), sources))
    lim = rules.limits
    limits = [("per user", _rate(lim.per_user))]
    limits += [(f"role {role}", _rate(spec)) for role, spec in sorted(lim.per_role.items())]
    limits += [
        ("global", _rate(lim.global_)),
        ("pending per user", str(lim.max_pending_per_user or "unlimited")),
        ("paid sources", "exempt" if lim.paid_exempt else "limited"),
        ("queue size", str(rules.queue_max_size)),
        ("aging", f"one level per {rules.aging_seconds:g} s" if rules.aging_seconds else "off"),
    ]
    parts.append(_table("Limits", ("limit", "value"), limits))
    perms = [
        (
            str(key),
            "!" + getattr(config.commands, key).name,
            str(rules.permissions.required[key]) + ("" if key == CommandKey.TTS else " and up"),
        )
        for key in CommandKey
    ]
    parts.append(_table("Commands", ("command", "chat", "allowed"), perms))
    f = rules.filters
    filters = [
        ("max length", f"{f.max_length} characters"),
        ("links", str(f.links)),
        ("banned words", f"{len(f.banned_words)} ({f.banned_words_action})"),
        ("read usernames", str(rules.read_usernames)),
        ("ignored users", ", ".join(sorted(rules.ignore_users)) or "-"),
    ]
    parts.append(_table("Filters", ("filter", "value"), filters))
    engine = config.engine
    out = [
        ("engine", f"{engine.primary} (fallback {engine.fallback})"),
        ("output", config.audio.output),
        ("gap", f"{config.audio.gap_ms} ms"),
        ("max message", f"{config.audio.max_message_seconds:g} s"),
    ]
    parts.append(_table("Speech", ("setting", "value"), out))
    if config.voices is not None:
        v = config.voices
        rows = [
            (
                name,
                a.engine,
                ", ".join(
                    f"{k}={val}"
                    for k, val in a.model_dump(exclude_defaults=True).items()
                    if k != "engine"
                )
                or "-",
            )
            for name, a in sorted(v.aliases.items())
        ]
        rows.append(("(default)", v.default, f"inline {v.inline}"))
        parts.append(_table("Voices", ("alias", "engine", "parameters"), rows))
    return "\n\n".join(parts)
