"""Benchmark: the worst time of `clean` on adversarial 2,000-character texts.

`clean` runs on the event loop's thread while a message plays: a pattern
that backtracks (the old link pattern took ~1 s on `-.-.-.`) holds the GIL
and breaks up the audio. Every input here is built to stress one step
(links, dots, brackets, markup, zalgo, mixed scripts, spelled-out words,
cheermotes, repeats, truncation), under rules with 200 banned words. Each
input is timed as the best of a few runs (the machine is shared), and the
worst input is reported:

    filters: worst X ms over N adversarial inputs of 2000 chars

`--mix` prints the microseconds per message on a realistic chat mix instead.
Run: `.venv/bin/python bench/filters.py`.
"""

from __future__ import annotations

import gc
import random
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamer_tts.core.filters import FilterRules, LinkAction, WordAction, clean

SIZE = 2000
REPEATS = 5

# Units repeated to SIZE characters: each one stresses a step of `clean`.
UNITS = [
    # links: dots, schemes, chains, dot forms, hosts, addresses
    "-.-.", "a.a.", "a.", ".a", "..a", "a..", "a.b.c ", "a@", "a@b.", "x://", "://", "a://b",
    "www.", "www.a.", "a.com", ".com", "a.com.", "a .", "a . ", " .a", "a. ", "a .b", "。a",
    "a。", "a．", "a｡", " dot ", "a dot ", "dot a ", "(dot)", "a(dot)", "[.]", "a[.]", "(.)",
    "a [dot] ", "{.}", "a·", "1.", "1.2.", "1.2.3.4.", "1.2.3.4:", "a.to/", "a.com/",
    "a.com:1", "a.com?", "a-b.", "a+b.", "a_b.", "@.", "a.co.", "A.COM.", "x.be ",
    # markup and engine syntax
    "<", ">", "<a", "<a ", "</", "</a", "<!", "<!--", "<?", "<3", "<33", "&lt;", "&#60;",
    "&", "[[", "]]", "[[a]]", "[[ ", "[", "]", "[a", "a]", "[[[", "((", "))", "<<", ">>",
    "<<a>>", "<a<a>", "{", "}",
    # cheermotes, numbers, commands
    "Cheer1 ", "cheer", "Cheer", "1", "1a", "a1", "1 ", "9999999999999 ", "!a ", "!", "! ",
    "!a", "4Head1 ",
    # repeats and words
    "a", "ab", "a ", "ab ", "lol ", "LOL lol ", "aaab", "a b ", "a  ", " ", "\t\n",
    # Unicode: zalgo, marks, invisible, emoji, scripts, look-alikes, styled letters
    "a\u0301\u0302\u0303", "e\u0301", "a\u0332", "a\u0338", "\u0301", "\u200b", "a\u200b",
    "\u202e", "\ufe0f", "😂", "👨\u200d👩", "🇺🇸", "日本", "日", "日.", "น\u0e49", "नमस्ते ",
    "مرحبا ", "Привет ", "а", "аb", "aа", "ѕ ", "ß", "ﬁ", "𝐚", "𝓪 ", "Ａ", "ｂ．", "ᴀ",
    "\u3164", "⠀", "İ", "Η", "ⓐ", "⒜", "½",
    # banned words spelled out, split, hidden
    "b a d w o r d ", "b.a.d.w.o.r.d.", "s.l.u.r.", "s l u r x ", "ѕ ӏ ս r ", "bàdwòrd ",
    "b-a-d_", "a b ", "a.b ", "(a)", "b a d p h r a s e ", "badword ", "slu",
]  # fmt: skip
PIECES = [u for u in UNITS if u.strip()]


def fill(unit: str) -> str:
    return (unit * (SIZE // len(unit) + 1))[:SIZE]


def inputs(seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    texts = [fill(u) for u in UNITS]
    texts += [
        "1" * (SIZE - 1) + "a",
        "a" + "1" * (SIZE - 2) + "b",
        "[" * (SIZE // 2) + "]" * (SIZE // 2),
        "(" * (SIZE // 2) + ")" * (SIZE // 2),
        "<" * (SIZE // 2) + ">" * (SIZE // 2),
        "[[" + "a" * (SIZE - 2),
        "<a" + "b" * (SIZE - 2),
        "http://" + "a" * (SIZE - 7),
        "a." * (SIZE // 4) + "com" + " " * (SIZE // 2 - 3),
        " ".join(["x" * 400] * 5)[:SIZE],
    ]
    while len(texts) < 300:  # mixtures: each step's input made by another's output
        parts = rng.choices(PIECES, k=rng.randint(2, 6))
        texts.append(fill("".join(parts)))
    assert all(len(t) == SIZE for t in texts)
    return texts


RULES = [
    FilterRules(
        banned_words=(*(f"word{i}" for i in range(197)), "badword", "slur", "bad phrase"),
        links=LinkAction.REPLACE,
    ),
    FilterRules(
        banned_words=("badword", "slur", "日本"),
        banned_words_action=WordAction.DROP,
        links=LinkAction.DROP,
        max_length=2000,
    ),
]


def worst_ms(texts: list[str]) -> float:
    """The slowest input's best time, over every rule set, in milliseconds."""
    gc.collect()
    gc.disable()  # a collection landing in one run is not the filter's cost
    try:
        return max(_worst_s(texts, rules) for rules in RULES) * 1000
    finally:
        gc.enable()


def _worst_s(texts: list[str], rules: FilterRules) -> float:
    clean("warm up é [[x]] a.com b a d", rules)
    worst = 0.0
    for text in texts:
        best = float("inf")
        for _ in range(REPEATS):
            started = time.perf_counter()
            clean(text, rules)
            best = min(best, time.perf_counter() - started)
        worst = max(worst, best)
    return worst


def mix_us() -> None:
    chat = [
        "hello streamer how are you doing today",
        "that was an insane play, gg",
        "can you play the song from yesterday? the one with the piano",
        "what do you think about the new patch? 3.2 nerfed everything",
        "soooooo good!!!!!!",
        "!discord",
        "Cheer100 great stream, have a good one",
        "check out my channel at twitch.tv/someone pls",
        "lol 😂😂😂 that was great",
        "¿Qué tal? Saludos desde España ñandú",
        "こんにちは、配信ありがとう！",
    ]
    for name, rules in (("default", FilterRules()), ("200 bans", RULES[0])):
        clean("é", rules)
        seconds = min(timeit.repeat(lambda r=rules: [clean(t, r) for t in chat], number=300))
        print(f"mix, {name}: {seconds / (300 * len(chat)) * 1e6:.2f} us/message")


def main() -> None:
    if "--mix" in sys.argv[1:]:
        mix_us()
        return
    texts = inputs()
    worst = worst_ms(texts)
    print(f"filters: worst {worst:.1f} ms over {len(texts)} adversarial inputs of {SIZE} chars")


if __name__ == "__main__":
    main()
