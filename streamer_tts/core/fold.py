"""Folding: text reduced to the plain letters a listener hears.

A voice reads `bàdwòrd`, `bаdword` (Cyrillic а), `𝐛𝐚𝐝𝐰𝐨𝐫𝐝`, `s̲lur` and
`b.a.d.w.o.r.d` all as the same word, so word filters must compare that
word, not its spelling. :func:`fold` maps text to a lowercase skeleton
(NFKD, marks removed, casefolded, look-alike letters mapped to Latin) and
keeps, for each folded character, the index of the original character it
came from, so a match in the folded text can act on the original span.
:func:`spelled` finds single letters spelled out with separators between
them. Pure, stdlib only, linear in the input.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = [
    "FOLD_CACHE_SIZE",
    "Folded",
    "fold",
    "fold_char",
    "letter_positions",
    "replace_spans",
    "spelled",
]

FOLD_CACHE_SIZE = 8192
"""Distinct characters folded and kept; a chat uses a few hundred."""

# Letters that look like Latin ones but are not decomposed by NFKD. Upper and
# lower case are mapped apart: Greek `Η` looks like H, its lowercase `η` like n.
_LOOKALIKES = {
    # Cyrillic
    "А": "a", "а": "a", "В": "b", "в": "b", "Е": "e", "е": "e", "Ё": "e", "ё": "e",
    "К": "k", "к": "k", "М": "m", "м": "m", "Н": "h", "н": "h", "О": "o", "о": "o",
    "Р": "p", "р": "p", "С": "c", "с": "c", "Т": "t", "т": "t", "У": "y", "у": "y",
    "Х": "x", "х": "x", "Ѕ": "s", "ѕ": "s", "І": "i", "і": "i", "Ї": "i", "ї": "i",
    "Ј": "j", "ј": "j", "Ԁ": "d", "ԁ": "d", "Ӏ": "l", "ӏ": "l", "Һ": "h", "һ": "h",
    "Ԛ": "q", "ԛ": "q", "Ԝ": "w", "ԝ": "w", "Ү": "y", "ү": "y", "Ь": "b", "ь": "b",
    "п": "n", "г": "r", "Ɡ": "g",
    # Greek
    "Α": "a", "α": "a", "Β": "b", "β": "b", "Ε": "e", "ε": "e", "Ζ": "z", "Η": "h",
    "η": "n", "Ι": "i", "ι": "i", "Κ": "k", "κ": "k", "Μ": "m", "μ": "u", "Ν": "n",
    "ν": "v", "Ο": "o", "ο": "o", "Ρ": "p", "ρ": "p", "Τ": "t", "τ": "t", "Υ": "y",
    "υ": "u", "Χ": "x", "χ": "x", "ω": "w", "γ": "y", "ϲ": "c", "Ϲ": "c", "ϳ": "j",
    # Armenian
    "օ": "o", "ո": "n", "ս": "u", "հ": "h", "զ": "q", "ց": "g",
    # Latin letters without a decomposition: small capitals, strokes, ligatures
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h",
    "ɪ": "i", "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p",
    "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
    "ɑ": "a", "ɡ": "g", "ı": "i", "ȷ": "j", "ɩ": "i", "ø": "o", "Ø": "o", "đ": "d",
    "Đ": "d", "ħ": "h", "Ħ": "h", "ł": "l", "Ł": "l", "ŧ": "t", "Ŧ": "t", "ƀ": "b",
    "ɨ": "i", "ʉ": "u", "ƶ": "z", "ð": "d", "Ð": "d", "æ": "ae", "Æ": "ae",
    "œ": "oe", "Œ": "oe", "ß": "ss", "ẞ": "ss",
}  # fmt: skip
_GONE = frozenset({"Mn", "Mc", "Me", "Cf", "Cc"})  # marks and invisible characters
_LETTER = re.compile(r"[^\W\d_]")
_NOT_LETTER = re.compile(r"[\W\d_]+")
# Two or more single letters (no letter or digit beside them) with separators
# between: "b.a.d", "b a d", "b-a-d", "(b)(a)(d)". Each step is one letter and
# one separator run, so a failed attempt costs the length of one run.
_SPELLED = re.compile(r"(?<![^\W_])[^\W\d_](?:[\W_]+[^\W\d_](?![^\W_]))+")


def _strip(text: str) -> str:
    return "".join(
        _LOOKALIKES.get(c, c)
        for c in unicodedata.normalize("NFKD", text)
        if unicodedata.category(c) not in _GONE
    )


@functools.lru_cache(maxsize=FOLD_CACHE_SIZE)
def fold_char(ch: str) -> str:
    """One character folded: zero, one or more plain lowercase characters."""
    # look-alikes first (case tells Η from η), again after casefold ("İ" -> "i̇")
    return _strip(_strip(ch).casefold())


class Folded:
    """Folded text and where each of its characters came from."""

    __slots__ = ("length", "origin", "text")

    def __init__(self, text: str, origin: Sequence[int] | None, length: int) -> None:
        self.text = text
        self.origin = origin
        """Original index of each folded character; None: the same index."""
        self.length = length
        """Of the original text."""

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the folded span [start, end) (not empty).

        It runs up to the next folded character's origin, so marks and
        invisible characters folded away after the last letter go with it.
        """
        if self.origin is None:
            return start, end
        stop = self.origin[end] if end < len(self.origin) else self.length
        return self.origin[start], max(stop, self.origin[end - 1] + 1)


def fold(text: str) -> Folded:
    """`text` folded for matching; ASCII costs one `lower()`."""
    if text.isascii():
        return Folded(text.lower(), None, len(text))
    parts = list(map(fold_char, text))
    folded = "".join(parts)
    if len(folded) == len(text) and "" not in parts:  # then every part is one character
        return Folded(folded, None, len(text))
    return Folded(folded, [i for i, part in enumerate(parts) for _ in part], len(text))


def spelled(folded: str) -> Iterator[tuple[str, int, str]]:
    """Each run of spelled-out letters: its letters joined, its start and text."""
    for run in _SPELLED.finditer(folded):
        text = run.group()
        yield _NOT_LETTER.sub("", text), run.start(), text


def letter_positions(run: str, start: int) -> list[int]:
    """Where each letter of a spelled run (as :func:`spelled` gave it) is."""
    return [start + m.start() for m in _LETTER.finditer(run)]


def replace_spans(text: str, spans: list[tuple[int, int]], by: str) -> str:
    """`text` with each span replaced by `by`; overlapping spans merge first."""
    pieces: list[str] = []
    last = 0
    for start, end in _merged(spans):
        pieces.append(text[last:start])
        pieces.append(by)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
