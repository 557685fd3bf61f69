"""Banned words, matched on folded text and acted on in the original.

Words and text are folded alike (:mod:`~streamer_tts.core.fold`), so case,
accents, overlays, styled and look-alike letters hide nothing. A word matches
whole (not inside another word); inside a run of letters spelled out one by
one ("b a d w o r d", "x.b.a.d") every letter is a word edge. Matching is
one compiled trie per rule set: the cost per position is the length of the
longest banned word, whatever their number.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TypeAlias

from .fold import fold, letter_positions, spelled

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["BannedWords"]

_Trie: TypeAlias = dict[str, "_Trie"]


def _trie(words: Iterable[str]) -> str:
    """An alternation shaped as a trie: `re` tries branches one by one, so a flat
    list of 500 banned words would cost 500 tests at every position."""
    root: _Trie = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{body})?" if "" in node else body

    return emit(root)


def _pattern(words: set[str], *, edges: bool) -> re.Pattern[str] | None:
    if not words:
        return None
    first = re.escape("".join(sorted({w[0] for w in words})))
    body = f"(?=[{first}])(?:{_trie(words)})"
    return re.compile(rf"(?<!\w){body}(?!\w)" if edges else body)


class BannedWords:
    """A compiled list of banned words or phrases."""

    __slots__ = ("_spelled", "_whole")

    def __init__(self, words: Iterable[str]) -> None:
        folded = {" ".join(fold(w).text.split()) for w in words} - {""}
        # spelled out, a phrase has no spaces: "b a d p h r a s e" is "bad phrase"
        letters = {w.replace(" ", "") for w in folded if w.replace(" ", "").isalpha()}
        self._whole = _pattern(folded, edges=True)
        self._spelled = _pattern(letters, edges=False)

    def __bool__(self) -> bool:
        return self._whole is not None

    def spans(self, text: str) -> list[tuple[int, int]]:
        """The [start, end) spans of `text` holding a banned word, unsorted."""
        if self._whole is None:
            return []
        folded = fold(text)
        found = [folded.span(*m.span()) for m in self._whole.finditer(folded.text)]
        if self._spelled is not None:
            for letters, start, run in spelled(folded.text):
                if self._spelled.search(letters):
                    where = letter_positions(run, start)
                    for m in self._spelled.finditer(letters):
                        found.append(folded.span(where[m.start()], where[m.end() - 1] + 1))
        return found
