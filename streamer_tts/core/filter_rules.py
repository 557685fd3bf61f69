"""What a channel lets through: the filter settings, frozen and hashable.

Apart from the pipeline (`core/filters.py`, which re-exports these) so the
config and the rules can name the settings without reading how text is
cleaned; validated here, so `clean` may trust them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "DEFAULT_CHEER_PREFIXES",
    "MAX_BANNED_WORD_CHARS",
    "FilterRules",
    "LinkAction",
    "WordAction",
]

MAX_BANNED_WORD_CHARS = 100
"""Banned words become a nested pattern, one level per character."""

DEFAULT_CHEER_PREFIXES: frozenset[str] = frozenset(
    {
        "cheer", "doodlecheer", "biblethump", "cheerwhal", "corgo", "scoops", "uni",
        "showlove", "party", "seemsgood", "pride", "kappa", "frankerz", "heyguys",
        "dansgame", "elegiggle", "trihard", "kreygasm", "4head", "swiftrage",
        "notlikethis", "failfish", "vohiyo", "pjsalt", "mrdestructoid", "bday",
        "ripcheer", "shamrock", "bitboss", "streamlabs", "muxy", "holidaycheer",
        "goal", "anon", "charity",
    }
)  # fmt: skip
"""Twitch's global cheermote prefixes, lowercase; channels add their own."""


class LinkAction(enum.StrEnum):
    """What a link becomes: nothing, `link_replacement`, or a rejected message."""

    STRIP = "strip"
    REPLACE = "replace"
    DROP = "drop"


class WordAction(enum.StrEnum):
    """What a banned word becomes: `mask`, or a rejected message."""

    MASK = "mask"
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class FilterRules:
    """What a channel lets through; frozen and hashable, so compiled once."""

    max_length: int = 300
    """Characters after cleaning; the cut falls between words."""
    links: LinkAction = LinkAction.REPLACE
    link_replacement: str = "a link"
    banned_words: tuple[str, ...] = ()
    """Whole words or phrases, matched folded (case, accents, look-alike and
    styled letters, letters spelled out one by one); leetspeak is not chased."""
    banned_words_action: WordAction = WordAction.MASK
    mask: str = "bleep"
    max_repeat_chars: int = 3
    max_repeat_words: int = 2
    strip_commands: bool = True
    """Remove ``!discord``-style bot commands at the start of the text."""
    cheer_prefixes: frozenset[str] = DEFAULT_CHEER_PREFIXES
    emotes: frozenset[str] = frozenset()
    """Third-party emote names (7TV, BTTV, FFZ), removed as written like
    Twitch's; the config reads them from `filters.emote_lists`."""

    def __post_init__(self) -> None:
        for name in ("max_length", "max_repeat_chars", "max_repeat_words"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        # Normalised here so equal rules hash equal and lists from config work.
        words = {" ".join(w.lower().split()) for w in self.banned_words} - {""}
        if any(len(w) > MAX_BANNED_WORD_CHARS for w in words):
            raise ValueError(f"banned words are at most {MAX_BANNED_WORD_CHARS} characters")
        prefixes = frozenset(p.lower() for p in self.cheer_prefixes)
        object.__setattr__(self, "banned_words", tuple(sorted(words)))
        object.__setattr__(self, "cheer_prefixes", prefixes)
        object.__setattr__(self, "emotes", frozenset(self.emotes))
        object.__setattr__(self, "links", LinkAction(self.links))
        object.__setattr__(self, "banned_words_action", WordAction(self.banned_words_action))
