"""Micro-benchmark: microseconds per `clean` call on a realistic chat mix.

Run: `.venv/bin/python -m bench.filters` (or with PYTHONPATH=.). The admission
benchmark needs >= 50,000 events/s in all, so `clean` must stay near 5 us.
"""

from __future__ import annotations

import timeit

from streamer_tts.core.filters import FilterRules, clean

PLAIN = [
    "hello streamer how are you doing today",
    "that was an insane play, gg",
    "can you play the song from yesterday? the one with the piano",
    "first time here, love the vibes, keep it up",
    "KEKW that was so bad",
    "what do you think about the new patch? 3.2 nerfed everything",
    "I've been watching since 2019 and this is the best stream so far",
]
NOISY = [
    "lol lol lol lol",
    "soooooo good!!!!!!",
    "!discord",
    "Cheer100 great stream, have a good one",
    "check out my channel at twitch.tv/someone pls",
]
UNICODE = [
    "lol 😂😂😂 that was great",
    "¿Qué tal? Saludos desde España ñandú",
    "Xin chào, tiếng Việt nhé",
    "こんにちは、配信ありがとう！",
    "Ḩ̷̛̖ę̶̥l̸̝̇l̸͍̈́ȯ̶̠ there",
    "❤️❤️ love it",
]
MIX = PLAIN * 10 + NOISY * 3 + UNICODE * 2  # 70 % plain, 15 % noisy, 12 % Unicode


def per_message_us(messages: list[str], rules: FilterRules, rounds: int = 300) -> float:
    def run() -> None:
        for text in messages:
            clean(text, rules, emotes=("KEKW",) if "KEKW" in text else ())

    run()  # warm: compiled rules, Unicode tables
    seconds = min(timeit.repeat(run, number=rounds, repeat=7))
    return seconds / (rounds * len(messages)) * 1e6


def main() -> None:
    rules = FilterRules()
    banned = FilterRules(banned_words=(*(f"word{i}" for i in range(200)), "ass", "heck"))
    for name, messages in (("plain", PLAIN), ("noisy", NOISY), ("unicode", UNICODE)):
        print(f"{name:16s} {per_message_us(messages, rules, 3000):6.2f} us/message")
    print(f"{'mix':16s} {per_message_us(MIX, rules):6.2f} us/message")
    print(f"{'mix, 202 bans':16s} {per_message_us(MIX, banned):6.2f} us/message")


if __name__ == "__main__":
    main()
