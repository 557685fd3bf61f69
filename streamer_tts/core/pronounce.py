"""Pronunciations and nicknames: the channel's own words for the voice.

A streamer's name, a game's title or an in-joke comes out wrong in every
voice; a respelling ("xqc" -> "ex queue see") fixes it. Terms are whole
words, matched without case, and never inside another word ("gg" leaves
"eggs" alone). One regex pass finds the words and a dict answers each, so the
cost is linear in the text whatever the size of the dictionary.

Respellings and nicknames are typed by people in chat: they go through the
same filters as a message before they are kept (`clean_entry`), so no one
can smuggle markup, ``[[ phonemes ]]`` or a banned word in through them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from typing import TYPE_CHECKING

from .decisions import Reason
from .filters import Cleaned, FilterRules, LinkAction, WordAction, clean

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "MAX_ENTRIES",
    "MAX_RESPELLING_CHARS",
    "MAX_TERM_CHARS",
    "Pronunciations",
    "clean_entry",
    "term_key",
]

MAX_TERM_CHARS = 40
"""A term is one word: a Twitch login is at most 25 characters, a word rarely 40."""
MAX_RESPELLING_CHARS = 80
"""A respelling is a few words; a longer one is a message smuggled in."""
MAX_ENTRIES = 5_000
"""Mods type these by hand; a bound keeps the table (and the journal's) small."""

# A word: letters, digits and underscores (logins have them), with inner
# apostrophes ("don't" is one word). Maximal runs, so a match is never part
# of a longer word.
_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")


def term_key(term: str) -> str | None:
    """The lookup key of a term (NFKC, case-folded), or None if it is not one word."""
    key = unicodedata.normalize("NFKC", term.strip()).casefold()
    if not key or len(key) > MAX_TERM_CHARS or _WORD.fullmatch(key) is None:
        return None
    return key


def clean_entry(text: str, rules: FilterRules, max_chars: int) -> Cleaned:
    """A respelling or nickname as it may be spoken, or why not.

    The message filters apply, except that a banned word refuses the entry
    rather than being masked (a masked nickname would be read on every
    message), and a link refuses it too. A text over `max_chars` is refused,
    not cut: half a name is not what the mod typed.
    """
    strict = replace(
        rules,
        banned_words_action=WordAction.DROP,
        links=LinkAction.DROP,
        max_length=max(rules.max_length, max_chars),
    )
    cleaned = clean(text, strict)
    if cleaned.reason is None and len(cleaned.text) > max_chars:
        return Cleaned("", Reason.NOT_ALLOWED, f"longer than {max_chars} characters")
    return cleaned


class Pronunciations:
    """A term -> respelling table, applied to whole words of a text."""

    __slots__ = ("_table",)

    def __init__(self, entries: Mapping[str, str] | None = None) -> None:
        table: dict[str, str] = {}
        for term, respelling in (entries or {}).items():
            key = term_key(term)
            if key is not None and respelling.strip():
                table[key] = " ".join(respelling.split())
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    def __bool__(self) -> bool:
        return bool(self._table)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pronunciations) and other._table == self._table

    __hash__ = None  # type: ignore[assignment]  # mutable view of a table

    def as_dict(self) -> dict[str, str]:
        return dict(self._table)

    def apply(self, text: str) -> str:
        """Each whole word that is a term becomes its respelling."""
        table = self._table
        if not table or not text:
            return text

        def swap(match: re.Match[str]) -> str:
            word = match[0]
            key = (
                word.casefold()
                if word.isascii()
                else unicodedata.normalize("NFKC", word).casefold()
            )
            return table.get(key, word)

        return _WORD.sub(swap, text)
