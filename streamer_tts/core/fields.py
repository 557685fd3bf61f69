"""Short fields from outside (names, logins, reward titles, currencies).

Everything that reaches the log, the pages or an engine besides the message
text passes here first: a donor name holding terminal escapes or bidi
overrides must not repaint a terminal, reorder a caption or reach a voice.
Pure and stdlib only, like the rest of the core.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MAX_FIELD_CHARS", "clean_field", "is_currency_code"]

MAX_FIELD_CHARS = 64
"""Twitch display names are at most 25 characters; tip pages allow ~50."""

_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_SPACES = re.compile(r"\s+")
_CURRENCY = re.compile(r"[A-Z]{3}")


def clean_field(text: str, max_chars: int = MAX_FIELD_CHARS) -> str:
    """`text` without control, format (bidi), private or unassigned characters,
    whitespace runs as one space, cut to `max_chars`; may be empty."""
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in text[: max_chars * 4]
        if ch.isspace() or unicodedata.category(ch) not in _DROP_CATEGORIES
    )
    return _SPACES.sub(" ", kept).strip()[:max_chars].strip()


def is_currency_code(code: str) -> bool:
    """Three upper-case Latin letters, the shape of an ISO 4217 code."""
    return _CURRENCY.fullmatch(code) is not None
