"""Which voice reads a message: the alias rules, decided at admission.

Pure: the admission core asks `choose()` for every accepted message with
what it knows (the viewer's own choice, the source's, a tier's or reward's,
the detected language) and gets an alias that exists and can speak, or
None when no `voices:` section is configured (then today's single voice,
or a tier's engine voice name, reads as before).

Precedence, highest first: a tier's or reward's voice (paid for), the
viewer's own choice (`!voice`), the source's voice, the language route,
the default (`per_user`: a stable pick from the pool).
"""

from __future__ import annotations

import enum
import json
import re
import zlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .decisions import Control, ControlAction, Message, Reason, Rejected
from .events import Incoming, Role, User
from .templates import render

if TYPE_CHECKING:
    from collections import OrderedDict
    from collections.abc import Iterable, Mapping

    from .rules import SourceRule

__all__ = [
    "INLINE_MAX",
    "MAX_VOICES",
    "PER_USER",
    "InlineMode",
    "VoiceRules",
    "choose",
    "inline_meta",
    "set_voice",
    "split_inline",
    "spoken_parts",
]

PER_USER = "per_user"
# Viewers' own voices (`!voice`); as the journal keeps them, the oldest go first.
MAX_VOICES = 100_000
# More labelled segments than this in one message are read as plain text:
# a message of twenty one-word voices is a game, not a message.
INLINE_MAX = 5
RESET = "reset"


class InlineMode(enum.StrEnum):
    """Who may switch voices inside one message (`robot: hi joe: hello`)."""

    OFF = "off"
    PAID = "paid"
    EVERYONE = "everyone"


@dataclass(frozen=True, slots=True)
class VoiceRules:
    """The `voices:` section as plain data.

    `allow` maps a role to the aliases it may pick with `!voice` (None: every
    alias); a role may also use what every lower role may. `unavailable` is
    filled in at start with the aliases whose engine could not start.
    """

    aliases: frozenset[str] = frozenset()
    default: str | None = None  # an alias, PER_USER, or None: no voices configured
    pool: tuple[str, ...] = ()
    allow: Mapping[Role, frozenset[str] | None] = field(
        default_factory=lambda: {Role.EVERYONE: None}
    )
    by_language: Mapping[str, str] = field(default_factory=dict[str, str])
    inline: InlineMode = InlineMode.OFF
    unavailable: frozenset[str] = frozenset()

    @property
    def enabled(self) -> bool:
        return bool(self.aliases)

    def available(self, alias: str | None) -> bool:
        return alias is not None and alias in self.aliases and alias not in self.unavailable

    def may_use(self, user: User, alias: str) -> bool:
        """Whether `user` may pick `alias` (with `!voice` or inline)."""
        if not self.available(alias):
            return False
        if Role.BROADCASTER in user.roles:
            return True
        for role, names in self.allow.items():
            if role <= user.role and (names is None or alias in names):
                return True
        return False

    def choices(self, user: User) -> tuple[str, ...]:
        """The aliases `user` may pick, sorted."""
        return tuple(sorted(a for a in self.aliases if self.may_use(user, a)))

    def default_for(self, login: str) -> str | None:
        """The default alias for a viewer: the configured one, or a stable pick
        from the pool (`per_user`); any available alias if that one cannot speak."""
        if self.default == PER_USER and self.pool:
            # a pick from the whole pool, so one alias going down moves only its viewers
            mark = zlib.crc32(login.encode())
            pick = self.pool[mark % len(self.pool)]
            if self.available(pick):
                return pick
            pool = [a for a in self.pool if self.available(a)]
            if pool:
                return pool[mark % len(pool)]
        elif self.available(self.default):
            return self.default
        spare = sorted(a for a in self.aliases if self.available(a))
        return spare[0] if spare else None

    def with_unavailable(self, names: Iterable[str]) -> VoiceRules:
        return replace(self, unavailable=frozenset(names) & self.aliases)


def choose(
    rules: VoiceRules,
    user: User,
    *,
    chosen: str | None = None,
    source: str | None = None,
    override: str | None = None,
    language: str | None = None,
) -> str | None:
    """The alias that reads a message; None without a `voices:` section.

    `override` is a tier's or reward's voice, `chosen` the viewer's own,
    `source` the source's, `language` the detected language code. A name that
    is not an available alias is passed over (a stale choice, an alias whose
    engine could not start). The role check of a viewer's choice is made when
    it is set (`!voice`), so a moderator's `!ttsvoice` holds whatever the role.
    """
    if not rules.enabled:
        return override or source  # today's behaviour: an engine's own voice name
    if rules.available(override):
        return override
    if rules.available(chosen):
        return chosen
    if rules.available(source):
        return source
    if chosen is None and language is not None:
        routed = rules.by_language.get(language)
        if rules.available(routed):
            return routed
    return rules.default_for(user.login)


_LABEL = re.compile(r"(?:(?<=\s)|^)([A-Za-z0-9_][A-Za-z0-9_-]{0,31}):(?=\s|$)")


def split_inline(
    text: str, usable: Iterable[str], limit: int = INLINE_MAX
) -> tuple[tuple[str | None, str], ...]:
    """`robot: hello joe: hi` -> ((None, ""), ("robot", "hello"), ("joe", "hi")) minus empties.

    Only names in `usable` are labels (case-insensitive); at most `limit`
    labels switch the voice, later ones are read as text. The text before the
    first label keeps the message's own voice (None). Returns () when the text
    holds no label, so a plain message stays one segment.
    """
    names = {a.lower(): a for a in usable}
    cuts: list[tuple[int, int, str]] = []
    for match in _LABEL.finditer(text):
        alias = names.get(match.group(1).lower())
        if alias is not None:
            cuts.append((match.start(), match.end(), alias))
            if len(cuts) == limit:
                break
    if not cuts:
        return ()
    segments: list[tuple[str | None, str]] = []
    head = text[: cuts[0][0]].strip()
    if head:
        segments.append((None, head))
    for n, (_, end, alias) in enumerate(cuts):
        stop = cuts[n + 1][0] if n + 1 < len(cuts) else len(text)
        body = text[end:stop].strip()
        if body:
            segments.append((alias, body))
    return tuple(segments)


def spoken_parts(message: Message) -> tuple[tuple[str | None, str], ...]:
    """The parts of an inline message as read: the template's words (with or
    without the name, as chosen at play time) in the message's voice, then
    each labelled part in its alias. () for a message without inline parts."""
    raw = message.meta.get("inline")
    if not raw:
        return ()
    try:
        body = [(str(a) or None, str(t)) for a, t in json.loads(raw)]
    except (ValueError, TypeError):
        return ()  # a journal row from elsewhere: read it plainly
    bare = bool(message.text_bare) and message.spoken == message.text_bare
    head = message.meta.get("inline_head_bare" if bare else "inline_head", "")
    parts: list[tuple[str | None, str]] = [(None, head)] if head else []
    return tuple(parts + body)


def set_voice(
    rules: VoiceRules,
    voices: OrderedDict[str, str],
    action: ControlAction,
    by: User,
    target: str,
    alias: str,
    *,
    own: bool = True,
) -> Control | Rejected:
    """`!voice` / `!ttsvoice`: `target`'s voice from now on, in `voices` (the
    admission's registry). A refusal changes nothing and says why; listing
    (no alias) writes nothing. A moderator may give any alias that can speak."""

    def refuse(reason: Reason, detail: str) -> Rejected:
        return Rejected(reason, None, by.login, detail=detail)

    if not rules.enabled:
        return refuse(Reason.DISABLED, "no voices are configured")
    known = ", ".join(rules.choices(by)) or "none"
    if own and not alias:
        mine = voices.get(target)
        yours = f" (yours: {mine})" if mine else ""
        return Control(action, by.login, detail=f"voices you may use: {known}{yours}")
    if alias == RESET:
        voices.pop(target, None)
        return Control(action, by.login, target, detail=f"voice reset for {target}", voice="")
    if alias not in rules.aliases:
        return refuse(Reason.NOT_ALLOWED, f"no voice named {alias} (voices: {known})")
    if not rules.available(alias):
        return refuse(Reason.NOT_ALLOWED, f"voice {alias} is unavailable right now")
    if own and not rules.may_use(by, alias):
        return refuse(Reason.NOT_ALLOWED, f"{alias} is not yours to use (voices: {known})")
    voices[target] = alias
    voices.move_to_end(target)
    while len(voices) > MAX_VOICES:
        voices.popitem(last=False)
    return Control(action, by.login, target, detail=f"voice of {target}: {alias}", voice=alias)


def inline_meta(
    rules: VoiceRules,
    event: Incoming,
    body: str,
    rule: SourceRule,
    values: Mapping[str, object],
) -> dict[str, str]:
    """The message's inline parts (`robot: hi joe: hello`), for `spoken_parts`;
    {} when `voices.inline` does not allow them here or the body has no label."""
    mode = rules.inline
    if mode is InlineMode.OFF or (mode is InlineMode.PAID and not event.paid):
        return {}
    segments = split_inline(body, rules.choices(event.user))
    if not segments:
        return {}

    empty = {**values, "message": ""}
    return {
        "inline": json.dumps([[a or "", t] for a, t in segments]),
        "inline_head": render(rule.template, empty),
        "inline_head_bare": render(rule.template_no_name, empty) if rule.template_no_name else "",
    }
