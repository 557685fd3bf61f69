"""Text filters: cut hostile chat down to what may be read aloud.

Floods, zalgo, bidi tricks, engine control syntax (SSML, Piper's ``[[ phonemes
]]``), links, cheermote and emote codes and bot commands must never reach a
voice, and banned words are caught however they are spelled (see
:mod:`~streamer_tts.core.fold`). :func:`clean` turns one message into
the text to speak, or into a :class:`~streamer_tts.core.decisions.Reason` why
nothing is spoken. It is pure and on the hot path: patterns are compiled once
per :class:`FilterRules`, ASCII skips the Unicode work, and every costly step
hides behind a cheap test, as most messages need none of them.

Guarantees, pinned by property tests: it never raises and runs in linear time;
the output never holds ``<``, ``>``, ``[`` or ``]``, control, format or unassigned
characters, more than ``max_repeat_chars`` identical non-digit characters in a
row, or more than ``max_length`` characters; cleaning cleaned text changes
nothing.

The settings (:class:`FilterRules` and its enums) live in
`core/filter_rules.py` and are re-exported here.
"""

from __future__ import annotations

import functools
import operator
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .banned import BannedWords
from .decisions import Reason
from .filter_rules import (
    DEFAULT_CHEER_PREFIXES,
    MAX_BANNED_WORD_CHARS,
    FilterRules,
    LinkAction,
    WordAction,
)
from .fold import fold, replace_spans
from .links import MARK, link_spans, maybe_link

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "DEFAULT_CHEER_PREFIXES",
    "MAX_BANNED_WORD_CHARS",
    "Cleaned",
    "FilterRules",
    "LinkAction",
    "WordAction",
    "clean",
]

MAX_MARKS_PER_BASE = 2
"""Thai and Vietnamese put 2 combining marks on a letter; a longer run is zalgo."""
MAX_NUMBER_DIGITS = 12
"""Digits are never collapsed (1000000 stays a million); longer numbers are spam."""
MAX_RECLEANS = 3
"""A cut inside a word can expose a new token ("日example.com" from
"日example.com日本"), so a cut text is cleaned again, at most this often."""
MAX_LINK_SCANS = 3
"""A link found can join its neighbours into a longer one ("x.be/ dot com"):
the text is scanned again, this often at most."""
RULES_CACHE_SIZE = 16
"""Compiled rule sets kept; a daemon has one, tests a handful."""


@dataclass(frozen=True, slots=True)
class Cleaned:
    """The outcome: `text` to speak, or a `reason` why nothing is spoken."""

    text: str
    reason: Reason | None
    detail: str = ""


# --- Unicode tables ------------------------------------------------------------

_INVISIBLE_LETTERS = frozenset({0x115F, 0x1160, 0x3164, 0xFFA0})  # Hangul fillers: "blank" messages
_KEPT_SYMBOLS = frozenset({0xB0})  # the degree sign: "20°C" is speech
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "So", "Sk", "Me"})
_EMOJI = (0x1F000, 0x1FAFF)
_NO_SPACE_SCRIPTS = [  # Thai, Lao, Myanmar, Khmer, kana, CJK: cut between any two
    (0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x3000, 0x30FF),
    (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
    (0x20000, 0x3FFFF),
]  # fmt: skip


def _char_class(ranges: list[tuple[int, int]]) -> str:
    """One character of `ranges`, shaped for speed: `re` keeps a bitmap for the
    Basic Multilingual Plane but scans astral ranges one by one, so those are
    tried only for astral characters, emoji first."""

    def body(part: list[tuple[int, int]]) -> str:
        return "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in part)

    bmp = [(lo, min(hi, 0xFFFF)) for lo, hi in ranges if lo <= 0xFFFF]
    astral = [(max(lo, 0x10000), hi) for lo, hi in ranges if hi > 0xFFFF]
    astral.sort(key=lambda r: not (_EMOJI[0] <= r[0] <= _EMOJI[1]))
    if not astral:
        return f"[{body(bmp)}]"
    return f"(?:[{body(bmp)}]|(?=[\\U00010000-\\U0010ffff])[{body(astral)}])"


@dataclass(frozen=True, slots=True)
class _Tables:
    drop: re.Pattern[str]
    zalgo: re.Pattern[str]
    marks: re.Pattern[str]
    no_space: re.Pattern[str]


@functools.cache
def _tables() -> _Tables:
    """Scan the Unicode database once (~0.5 s, at first need rather than import)."""
    drop: list[tuple[int, int]] = []
    nonspacing: list[tuple[int, int]] = []

    def add(ranges: list[tuple[int, int]], cp: int) -> None:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))

    for cp, cat in enumerate(map(unicodedata.category, map(chr, range(0x110000)))):
        if cp < 0x80:
            if cat == "Cc" and chr(cp) not in "\t\n\v\f\r":
                add(drop, cp)
        elif (cat in _DROPPED_CATEGORIES and cp not in _KEPT_SYMBOLS) or (
            cp in _INVISIBLE_LETTERS or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF
        ):  # variation selectors are Mn, but only steer emoji rendering
            add(drop, cp)
        elif cat == "Mn":
            add(nonspacing, cp)
    mn = _char_class(nonspacing)
    return _Tables(
        drop=re.compile(f"{_char_class(drop)}+"),
        zalgo=re.compile(f"{mn}{{{MAX_MARKS_PER_BASE + 1},}}"),
        marks=re.compile(f"{mn}+"),
        no_space=re.compile(f"{_char_class(_NO_SPACE_SCRIPTS)}+"),
    )


def _normalise(text: str) -> str:
    """NFKC, drop invisible and pictographic characters, remove zalgo.

    Loops because a removal can join a letter and a mark that NFKC composes.
    """
    tables = _tables()
    while True:
        text = tables.drop.sub("", unicodedata.normalize("NFKC", text))
        if tables.zalgo.search(text):  # one zalgo run: no mark in this text is honest
            text = tables.marks.sub("", text)
        if unicodedata.is_normalized("NFKC", text):
            return text


# --- fixed patterns ------------------------------------------------------------

_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]+")
# Tags (<speak>, </p>, <break time="5s"/>, <!-- -->) and hearts (<3) go whole;
# stray brackets become spaces ("<35 viewers"). Entities too: an engine may unescape.
_MARKUP = re.compile(
    r"</?[A-Za-z][^<>]*>|<[!?][^<>]*>|<3+(?!\d)|[<>]|&(?:lt|gt|#0*6[02]|#x0*3[ce]);?",
    re.IGNORECASE,
)
_LINK_MARK = MARK
_LINK_MARKS = re.compile(f"{_LINK_MARK}(?: ?{_LINK_MARK})*(?P<stop> ?\\.(?=\\s|$))?")
"""Links in a row, with the full stop that may end their sentence: a spaced
replacement before that stop ("a link . fi") would read as a new link."""
_ASCII_DIGIT = re.compile("[0-9]")  # `re` tests this class far faster than \d
_DIGIT = re.compile(r"\d")
# The prefix ends in a non-digit and the digits are possessive: a failed
# "a111...1b" costs one pass over its digits, not one per prefix length.
_CHEER = re.compile(r"(?<!\S)(\w*[^\W\d])\d++(?!\S)")
# Piper reads `[[ ... ]]` as raw phonemes (past any word filter): a block goes
# whole, and no square bracket is left to build a new one.
_BRACKETS = re.compile(r"[\[\]]+")
_LONG_NUMBER = re.compile(rf"\d{{{MAX_NUMBER_DIGITS + 1},}}")
_COMMANDS = re.compile(r"^(?:!\w\S*(?: |$))+")
_SPEAKABLE = re.compile(r"[^\W_]")
_EMPTY = Cleaned("", Reason.EMPTY, "nothing left")
_LINK_DROPPED = Cleaned("", Reason.LINK, "link")
_BANNED = Cleaned("", Reason.BANNED_WORD, "banned word")


# --- per-rules patterns --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Compiled:
    rules: FilterRules
    has_repeat: re.Pattern[str]  # the cheap test: any run, digits included
    repeat_chars: re.Pattern[str]
    repeat_chars_to: str
    link_to: str  # spaced, so the replacement never glues onto a word
    banned: BannedWords | None
    mask: str


def _strip_brackets(text: str) -> str:
    """Remove `[[ ... ]]` blocks whole, then every square bracket (linear)."""
    parts: list[str] = []
    i = 0
    while (j := text.find("[[", i)) >= 0 and (k := text.find("]]", j + 2)) >= 0:
        parts.append(text[i:j])
        i = k + 2
    parts.append(text[i:])
    return _BRACKETS.sub(" ", " ".join(parts))


@functools.lru_cache(maxsize=RULES_CACHE_SIZE)
def _compile(rules: FilterRules) -> _Compiled:
    n_chars = rules.max_repeat_chars
    repeat_chars = re.compile(rf"([^\d])\1{{{n_chars},}}", re.DOTALL)
    repeat_chars_to = r"\g<1>" * n_chars

    def settle(text: str) -> str:  # configured text must be as clean as chat
        text = _normalise(text) if not text.isascii() else _ASCII_CONTROL.sub("", text)
        text = _strip_brackets(_MARKUP.sub(" ", text))
        return " ".join(repeat_chars.sub(repeat_chars_to, text).split())

    link_to = settle(rules.link_replacement)
    if link_spans(link_to):  # a link as replacement would never settle
        link_to = ""
    banned = BannedWords(settle(w) for w in rules.banned_words)
    mask = settle(rules.mask) if banned else ""
    if banned.spans(mask) or link_spans(mask):  # it would be masked again
        mask = ""
    return _Compiled(
        rules=rules,
        has_repeat=re.compile(r"(.)" + r"\1" * n_chars, re.DOTALL),
        repeat_chars=repeat_chars,
        repeat_chars_to=repeat_chars_to,
        link_to=f" {link_to} " if link_to else " ",
        banned=banned if banned else None,
        mask=mask,
    )


def _mark_links(text: str) -> str:
    """Each link replaced by `_LINK_MARK`; look-alike letters are folded first."""
    for scan in range(MAX_LINK_SCANS):
        if scan and not maybe_link(text):
            break
        folded = fold(text) if not text.isascii() else None
        spans = link_spans(folded.text if folded is not None else text)
        if not spans:
            break
        if folded is not None:
            spans = [folded.span(start, end) for start, end in spans]
        text = replace_spans(text, spans, _LINK_MARK)
    return text


# --- the pipeline --------------------------------------------------------------


def clean(
    text: str,
    rules: FilterRules,
    *,
    cheermotes: Iterable[str] = (),
    emotes: Iterable[str] = (),
) -> Cleaned:
    """Clean one message for speech.

    `cheermotes` and `emotes` are the tokens Twitch's fragments marked ("Cheer100",
    "Kappa"). Emote tokens go as written (emote codes are case-sensitive); the
    cheermotes' prefixes join ``rules.cheer_prefixes`` for this message.
    """
    compiled = _compile(rules)
    prefixes = rules.cheer_prefixes
    if cheermotes:
        prefixes = prefixes | {c.rstrip("0123456789").lower() for c in cheermotes}
    listed = rules.emotes
    if emotes or listed:
        names = frozenset(emotes)  # before markup removal: "<3" is an emote code
        text = " ".join(t for t in text.split() if t not in names and t not in listed)
    result, recut = _clean_once(text, compiled, prefixes)
    for _ in range(MAX_RECLEANS):
        if not recut:
            break
        again, recut = _clean_once(result.text, compiled, rules.cheer_prefixes)
        result = Cleaned(again.text, again.reason, again.detail or result.detail)
    return result


def _clean_once(text: str, c: _Compiled, prefixes: frozenset[str]) -> tuple[Cleaned, bool]:
    """One pass; the flag says the result needs another (a cut split a word,
    a mask replaced one).

    The order keeps cleaning idempotent: every removal leaves a space, and each
    step runs after those that could expose its input: links are found after
    everything that removes words between a name and its dot ("x Cheer1 dot
    com", "x dot dot com").
    """
    rules = c.rules
    if text.isascii():
        if not text.isprintable():
            text = _ASCII_CONTROL.sub("", text)
    else:
        text = _normalise(text)
    if "<" in text or ">" in text or "&" in text:
        text = _MARKUP.sub(" ", text)
    if "[" in text or "]" in text:
        text = _strip_brackets(text)
    if c.has_repeat.search(text):  # before links: "wwwwww.x.com"
        text = c.repeat_chars.sub(c.repeat_chars_to, text)
    if (_ASCII_DIGIT if text.isascii() else _DIGIT).search(text):
        text = _CHEER.sub(lambda m: " " if m[1].lower() in prefixes else m[0], text)
        text = _LONG_NUMBER.sub(" ", text)
    text = _collapse_words(" ".join(text.split()), rules.max_repeat_words)
    if maybe_link(text):
        text = _mark_links(text)
        if _LINK_MARK in text:
            if rules.links is LinkAction.DROP:
                return _LINK_DROPPED, False
            to = c.link_to if rules.links is LinkAction.REPLACE else " "
            stop = f"{to.rstrip()}. " if to.strip() else " "  # a stripped link takes its stop
            text = _LINK_MARKS.sub(lambda m: stop if m["stop"] else to, text)
            # words the link stood between may now repeat ("dot <link> dot")
            text = _collapse_words(" ".join(text.split()), rules.max_repeat_words)
    recut = False
    if c.banned is not None and (spans := c.banned.spans(text)):
        if rules.banned_words_action is WordAction.DROP:
            return _BANNED, False
        # The mask may meet its neighbours' punctuation, or be empty.
        text = replace_spans(text, spans, c.mask)
        text = " ".join(c.repeat_chars.sub(c.repeat_chars_to, text).split())
        recut = True
    if rules.strip_commands and text.startswith("!"):
        text = _COMMANDS.sub("", text)  # takes a head off: no new run of one word
    detail = ""
    if len(text) > rules.max_length:
        text, cut = _truncate(text, rules.max_length)
        recut, detail = recut or cut, "truncated"
    if not _SPEAKABLE.search(text):
        return _EMPTY, False
    return Cleaned(text, None, detail), recut


def _collapse_words(text: str, most: int) -> str:
    """Keep at most `most` of each run of one word, ignoring case."""
    keys = text.lower().split(" ")
    if len(set(keys)) == len(keys) or not any(map(operator.eq, keys, keys[1:])):
        return text
    kept: list[str] = []
    previous, run = "", 0
    for word, key in zip(text.split(" "), keys, strict=True):
        run = run + 1 if key == previous else 1
        previous = key
        if run <= most:
            kept.append(word)
    return " ".join(kept)


def _truncate(text: str, limit: int) -> tuple[str, bool]:
    """Cut to `limit` characters between words; flag a result that needs
    cleaning again: a cut not at a space, or a new first word (a command?).

    Scripts written without spaces may be cut between any two characters. A
    first word longer than the limit is no speech: it goes, and the rest is tried.
    """
    new_start = False
    while len(text) > limit:
        head = text[: limit + 1]
        best = head.rfind(" ")
        if not head.isascii():
            for run in _tables().no_space.finditer(head, best + 1):
                best = max(best, min(run.end(), limit))
        if best > 0:
            return text[:best].rstrip(), new_start or text[best] != " "
        space = text.find(" ")
        if space < 0:
            return "", True
        text = text[space + 1 :]
        new_start = True
    return text, True
