"""Cut a message into pieces an engine can start speaking early: pure text, no I/O.

A local voice makes a whole utterance at once, so the first sound waits for the
first piece. Pieces end at punctuation (where a speaker pauses anyway); a run
without punctuation longer than the current cap is cut at a word boundary,
preferably before a joining word ("and", "to", "with" ...) so the cut falls
where a pause is natural. The cap starts small, for a quick first sound, and
grows by `growth` each piece up to `max_words`: each piece is then made while
the ones before it play (synthesis runs several times faster than speech),
and later pieces are whole clauses more often.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["FIRST_WORDS", "GROWTH", "MAX_WORDS", "ends_clause", "pieces"]

FIRST_WORDS: Final = 4
"""The first piece's cap: ~1.2 s of speech, made in ~0.1 s by Piper on 2 cores (3
words measured ~20% faster to first sound than 5, at a cost in prosody)."""
GROWTH: Final = 3
MAX_WORDS: Final = 15
"""The cap stops growing here (~5 s of speech): a skip cannot stop the piece being
made, so the next message waits behind it; a longer piece buys little prosody."""
_CLAUSE_MARKS: Final = ",;:.!?…)]\"'"
_CLAUSE_END: Final = re.compile(r"(?<=[,;:.!?…)\]\"'])\s+|\s+(?=[-–—]\s)|\n+")
_JOINERS: Final = frozenset(
    (  # noqa: SIM905 (a sentence of words reads better than a list)
        "and but or so because that which who when while if then to of for with from at in on "
        "by about as than"
    ).split()
)


_LEANING: Final = _JOINERS | frozenset(
    "the a an my your our their his her its this these those".split()  # noqa: SIM905
)
"""Words that lean on the next one: a piece should not end with one."""
_STRETCH: Final = 2
"""A piece may run this many words past its cap to end on a clean boundary."""


def _word(word: str) -> str:
    return word.lower().strip("\"'(")


def _cut(words: list[str], cap: int) -> int:
    """Where to cut a run longer than `cap`: before a joining word in its second
    half; else at the nearest word (a little past the cap first) after which the
    piece does not end leaning on the next, as "to the" would."""
    lo = max(1, cap // 2)
    for k in range(cap, lo, -1):
        if _word(words[k]) in _JOINERS and _word(words[k - 1]) not in _LEANING:
            return k
    later = range(cap + 1, min(cap + _STRETCH, len(words) - 1) + 1)
    for k in [cap, *later, *range(cap - 1, lo, -1)]:
        if _word(words[k - 1]) not in _LEANING:
            return k
    return cap


def pieces(
    text: str,
    *,
    first_words: int = FIRST_WORDS,
    growth: int = GROWTH,
    max_words: int = MAX_WORDS,
) -> list[str]:
    """`text` as pieces in order; joined with spaces they give back its words unchanged."""
    out: list[str] = []
    for clause in _CLAUSE_END.split(text):
        words = clause.split()
        while words:
            cap = max(first_words, min(first_words * growth ** min(len(out), 8), max_words))
            if len(words) <= cap:
                out.append(" ".join(words))
                break
            k = _cut(words, cap)
            out.append(" ".join(words[:k]))
            words = words[k:]
    return out


def ends_clause(piece: str) -> bool:
    """True when `piece` ends where a speaker pauses anyway (punctuation), not mid-clause."""
    return piece.endswith(tuple(_CLAUSE_MARKS))
