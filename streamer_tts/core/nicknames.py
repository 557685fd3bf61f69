"""The channel's lexicon: how words and people are read, as mods set it live.

`Lexicon` holds what moderators (and, if allowed, viewers) changed at run
time: respellings (`!ttssay`, `!ttsunsay`) over the config's
`pronunciations`, and nicknames (`!ttsnick`, `!nick`). Admission asks it for
a user's name when it fills a template and for the spoken text when a message
is taken; every edit comes back as a `Control` whose target and value the
journal keeps, so a restart loads the same lexicon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .decisions import Control, ControlAction, Reason, Rejected
from .events import Nick, Say, SelfNick, Unsay, User
from .pronounce import MAX_ENTRIES, MAX_RESPELLING_CHARS, Pronunciations, clean_entry, term_key

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .rules import Rules

__all__ = ["MAX_NICKNAMES", "RESET", "Lexicon"]

MAX_NICKNAMES = 20_000
"""With `!nick` open to everyone, a busy channel names a few thousand; the
oldest go first past this many."""
RESET = "reset"
"""`!ttsnick <user> reset` (or `!nick reset`) gives the display name back."""


class Lexicon:
    def __init__(
        self, said: Mapping[str, str] | None = None, nicknames: Mapping[str, str] | None = None
    ) -> None:
        # mod edits over the config: term key -> respelling, "" = a config term removed
        self.said: dict[str, str] = dict(said or {})
        self.nicknames: dict[str, str] = {k.lower(): v for k, v in (nicknames or {}).items() if v}
        self._built: tuple[object, object, Pronunciations] | None = None

    # --- reading ---------------------------------------------------------------

    def name_of(self, user: User) -> str:
        """The name read for `user`: a nickname, else the display name."""
        if user.external:  # a donor's typed name is no login: no nickname matches it
            return user.name
        return self.nicknames.get(user.login, user.name)

    def pronunciations(self, rules: Rules) -> Pronunciations:
        """The config's respellings, cleaned, with the mods' edits over them."""
        built = self._built
        if built is not None and built[0] is rules.pronunciations and built[1] == rules.filters:
            return built[2]
        table: dict[str, str] = {}
        for term, respelling in rules.pronunciations.items():
            key = term_key(term)
            cleaned = clean_entry(respelling, rules.filters, MAX_RESPELLING_CHARS)
            if key is not None and cleaned.reason is None:
                table[key] = cleaned.text
        table.update(self.said)
        entries = {k: v for k, v in table.items() if v}
        result = Pronunciations(entries)
        self._built = (rules.pronunciations, rules.filters, result)
        return result

    def speak(self, text: str, rules: Rules) -> str:
        return self.pronunciations(rules).apply(text)

    # --- editing ---------------------------------------------------------------

    def command(self, command: Say | Unsay | Nick, rules: Rules) -> Control | Rejected:
        by = command.by.login
        if isinstance(command, Say):
            key = term_key(command.term)
            if key is None:
                return Rejected(Reason.NOT_ALLOWED, None, by, detail="say: one word, please")
            cleaned = clean_entry(command.respelling, rules.filters, MAX_RESPELLING_CHARS)
            if cleaned.reason is not None:
                return Rejected(cleaned.reason, None, by, detail=f"say: {cleaned.detail}")
            if key not in self.said and len(self.said) >= MAX_ENTRIES:
                return Rejected(Reason.NOT_ALLOWED, None, by, detail="say: the list is full")
            self.said[key] = cleaned.text
            self._built = None
            detail = f"{key} is read as {cleaned.text}"
            return Control(ControlAction.SAY, by, key, detail=detail, value=cleaned.text)
        if isinstance(command, Unsay):
            key = term_key(command.term)
            if key is None:
                return Rejected(Reason.NOT_ALLOWED, None, by, detail="unsay: one word, please")
            self.said[key] = ""  # also hides a config term
            self._built = None
            return Control(ControlAction.UNSAY, by, key, detail=f"{key} is read as written")
        action = ControlAction.SELF_NICK if isinstance(command, SelfNick) else ControlAction.NICK
        if isinstance(command, SelfNick) and not rules.self_nicknames:
            return Rejected(Reason.DISABLED, None, by, detail="nick: nicknames.self is off")
        target, typed = command.target, " ".join(command.nickname.split())
        if not typed or typed.lower() == RESET:
            self.nicknames.pop(target, None)
            return Control(action, by, target, detail=f"{target}: name reset")
        cleaned = clean_entry(typed, rules.filters, rules.name_max_length)
        if cleaned.reason is not None:
            return Rejected(cleaned.reason, None, by, detail=f"nick: {cleaned.detail}")
        self.nicknames.pop(target, None)
        self.nicknames[target] = cleaned.text
        while len(self.nicknames) > MAX_NICKNAMES:
            del self.nicknames[next(iter(self.nicknames))]
        return Control(
            action, by, target, detail=f"{target} is read as {cleaned.text}", value=cleaned.text
        )
