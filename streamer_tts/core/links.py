"""Finding links in chat, in any case and with any dot a viewer can type.

`VISIT MYSITE.COM`, `evil。com`, `mysite (dot) com`, `site[.]org/x` and
`https://...` are all links a voice would read out. Ordinary dots are not:
"i.e.", "e.g.", "3.5", "ok. then". The scan is linear: a chain of labels is
matched from the start of a word only, each chain at most once, and the
verdict (is its last label a top-level domain?) is a set lookup.
"""

from __future__ import annotations

import re

__all__ = ["MARK", "link_spans", "maybe_link"]

MARK = "\ue000"
"""Stands for a link already found, and counts as a link itself: "MARK dot com"
is one link too. A private-use character, so never chat's own by then."""

_TLDS = frozenset(
    {
        "com", "net", "org", "info", "biz", "io", "co", "tv", "gg", "ly", "uk", "ca", "de",
        "fr", "ru", "jp", "cn", "br", "au", "nl", "es", "pl", "se", "ch", "eu", "xyz", "app",
        "dev", "link", "live", "stream", "fm", "sh", "gl", "ai", "site", "online", "store",
        "shop", "club", "top", "vip", "pro", "cc", "ws", "la", "gd", "tk", "ml", "ga", "cf",
        "gq", "su", "edu", "gov", "art", "blog", "news", "page", "cloud", "tech", "fun",
        "gift", "zip", "click", "kr", "tw", "hk", "cz", "pt", "ro", "gr", "fi", "dk", "ua",
    }
)  # fmt: skip
_WORD_TLDS = frozenset(
    {"be", "me", "to", "in", "it", "us", "at", "is", "so", "no", "am", "my", "id", "gs", "vc"}
)
"""Also common words ("ok.so what"): a link only with a path ("youtu.be/x")."""

_LABEL = r"[\w@+\-\ue000]+"
# A dot between two labels: ".", "。" or "·" touching the next label (not
# "ok. then"), a dot with a space before it, a bracketed dot ("[.]", "(dot)"),
# or the word " dot ". Whitespace is single spaces by the time this runs.
_DOT = r"(?:[.。·](?! )| [.。·] ?| ?[\[({] ?(?:[.。·]|dot) ?[\])}] ?| dot )"
_DOTS = re.compile(_DOT, re.IGNORECASE)
# Starts only where a label starts, so a chain is never re-scanned from inside.
_CHAIN = re.compile(rf"(?<![\w@+\-\ue000]){_LABEL}(?:{_DOT}{_LABEL})+", re.IGNORECASE)
_SCHEME = re.compile(r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://\S*", re.IGNORECASE)
_TAIL = re.compile(r"(?::\d{1,5})?(?:[/?#]\S*)?")
_IP_PART = re.compile(r"\d{1,3}")
_HINT = re.compile(r"[.。·] ?[\w@+\-\ue000]|[\[({] ?(?:[.。·]|dot)| dot |://", re.IGNORECASE)


def maybe_link(text: str) -> bool:
    """A cheap test, on every message: False means no link. Every dot form
    holds one of these characters or the word "dot"."""
    if not ("." in text or "。" in text or "·" in text or ":" in text or "dot" in text.lower()):
        return False
    return _HINT.search(text) is not None


def link_spans(text: str) -> list[tuple[int, int]]:
    """The [start, end) spans of the links in `text`, in order, not overlapping.

    Any case matches; `text` has single spaces. Fold it first so look-alike
    letters ("cоm" with a Cyrillic о) are caught too.
    """
    spans: list[tuple[int, int]] = []
    if "://" in text:
        spans.extend(m.span() for m in _SCHEME.finditer(text))
    for chain in _CHAIN.finditer(text):
        end = _link_end(chain, text)
        if end:
            spans.append((chain.start(), end))
    if not spans:
        return spans
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start < last_end:
            merged[-1] = (last_start, max(end, last_end))
        else:
            merged.append((start, end))
    return merged


def _link_end(chain: re.Match[str], text: str) -> int:
    """Where the link of this chain of labels ends, or 0 if it is no link.

    The last label that is a top-level domain ends it, so "mysite.com.Thanks"
    is still caught; a path or port after the chain belongs to it.
    """
    labels = _DOTS.split(chain.group())
    last = labels[-1].lower()
    if last in _TLDS or (len(labels) > 2 and labels[0].lower() == "www") or MARK in chain.group():
        return _tail(text, chain.end())
    if last in _WORD_TLDS:  # only with a path: "youtu.be/x", not "ok.so"
        tail = _tail(text, chain.end())
        return tail if tail > chain.end() else 0
    if len(labels) == 4 and all(_IP_PART.fullmatch(x) for x in labels):
        return _tail(text, chain.end())
    for i in range(len(labels) - 2, 0, -1):
        if labels[i].lower() in _TLDS:  # the link ends with that label
            dots = list(_DOTS.finditer(chain.group()))
            return chain.start() + dots[i].start()
    return 0


def _tail(text: str, end: int) -> int:
    """The end of a port and path after `end`, if any (else `end`)."""
    tail = _TAIL.match(text, end)
    return tail.end() if tail is not None else end
