"""Benchmark: 200,000 mixed events from 50,000 users through the admission core.

Real filters, real aiolimiter gates (inside a running loop, as in the daemon)
and the real bounded queue; a simulated speaker takes one message every ten
events. Prints, in one run: the cost of durability (`admission+journal: N
events/s`, every acceptance and state change written to a real SQLite
journal as the daemon writes them: each event's turn handed to the journal
writer, whose thread commits the turns that piled up meanwhile together
(group commit), fsynced (`synchronous=FULL`) when they hold a paid
acceptance; the next line, `paid acceptances durable ...`, says how many commits were
fsynced for how many paid acceptances, and what one cost)
and, last, `admission: N events/s, rss +M MB` (peak RSS growth).
"""

from __future__ import annotations

import asyncio
import gc
import random
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamer_tts.core import records
from streamer_tts.core.admission import Admission
from streamer_tts.core.decisions import Accepted, Rejected
from streamer_tts.core.events import (
    ChatTTS,
    Cheer,
    Donation,
    Fragment,
    FragmentKind,
    GiftSubs,
    Incoming,
    Role,
    Subscription,
    User,
)
from streamer_tts.core.filters import clean
from streamer_tts.core.limits import LimitPolicy
from streamer_tts.core.rules import Rules
from streamer_tts.journal import Journal
from streamer_tts.journal.writer import Batch, JournalWriter
from streamer_tts.limiter import aiolimiter_gate

EVENTS = 200_000
USERS = 50_000

CHAT_LINES = [
    "hello chat how is everyone doing tonight",
    "that play was insane, clip it!!!",
    "check out https://example.com/free-giveaway now",
    "sooooooo gooooood lol lol lol lol",
    "<speak><break time='10s'/></speak> hi there",
    "Ḩ̷̛̖ę̶̥l̸̝̇l̸͍̈́ȯ̶̠ zalgo says hi",
    "!discord when is the next stream",
    "PogChamp PogChamp what a clutch",
    "a" * 600,
    "can you read this one out loud please streamer",
]


def make_events(n: int, users: int, seed: int = 7) -> list[Incoming]:
    rng = random.Random(seed)
    people = [
        User(f"user{i}", f"User{i}", frozenset({Role.SUBSCRIBER}) if i % 7 == 0 else frozenset())
        for i in range(users)
    ]
    events: list[Incoming] = []
    for i in range(n):
        who = people[rng.randrange(users)]
        roll = rng.random()
        if roll < 0.85:
            text = rng.choice(CHAT_LINES)
            frags = (Fragment(FragmentKind.EMOTE, "PogChamp"),) if "Pog" in text else ()
            events.append(ChatTTS(id=f"e{i}", user=who, message=text, fragments=frags))
        elif roll < 0.95:
            bits = rng.choice([10, 100, 250, 500, 1000, 5000])
            events.append(
                Cheer(
                    id=f"e{i}",
                    user=who,
                    amount_bits=bits,
                    message=f"Cheer{bits} great stream",
                    fragments=(Fragment(FragmentKind.CHEERMOTE, f"Cheer{bits}"),),
                )
            )
        elif roll < 0.98:
            events.append(
                Subscription(
                    id=f"e{i}", user=who, months=rng.randint(1, 40), message="love this channel"
                )
            )
        elif roll < 0.99:
            events.append(GiftSubs(id=f"e{i}", user=who, count=rng.choice([1, 5, 10])))
        else:
            events.append(
                Donation(
                    id=f"e{i % 9000}", user=who, amount=rng.choice([2.0, 5.0, 25.0]), message="tip!"
                )
            )
    return events


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def run(
    events: list[Incoming], rules: Rules, journal: Journal | None = None
) -> tuple[float, dict[str, int]]:
    """Every event decided; with a journal, each turn written as the conductor does."""
    admission = Admission(rules, aiolimiter_gate)
    loop = asyncio.get_running_loop()
    counts: dict[str, int] = {}
    writer = JournalWriter(journal, lambda written: None) if journal is not None else None
    t0 = time.perf_counter()
    for i, event in enumerate(events):
        now = loop.time()
        decision = admission.decide(event, now)
        ops: list[records.Op] = []
        if isinstance(decision, Accepted):
            if decision.evicted is not None:
                ops.append(records.MarkDropped(decision.evicted.id, "queue_full"))
            ops.append(records.Accept(decision.message))
            counts["accepted"] = counts.get("accepted", 0) + 1
        elif isinstance(decision, Rejected):
            key = str(decision.reason)
            counts[key] = counts.get(key, 0) + 1
        if i % 10 == 0:
            message = admission.next_message(now)
            if message is not None:
                ops.append(records.MarkPlaying(message.id, spoken=message.spoken))
                ops.append(records.MarkFinished(message.id))
        if writer is not None:
            if ops:
                writer.submit(Batch(tuple(ops)))
                PAID[0] += any(isinstance(op, records.Accept) and op.message.paid for op in ops)
            await asyncio.sleep(0)  # the writer's task runs beside, as in the daemon
    if writer is not None:
        await writer.flush()
        writer.close()
    return time.perf_counter() - t0, counts


FULL_COMMITS_S: list[float] = []  # commits with an fsync (they held a paid acceptance)
PAID = [0]


class TimedJournal(Journal):
    def apply(self, ops: list[records.Op], *, full_sync: bool = False) -> list[str]:  # type: ignore[override]
        t = time.perf_counter()
        try:
            return super().apply(ops, full_sync=full_sync)
        finally:
            if full_sync:
                FULL_COMMITS_S.append(time.perf_counter() - t)


def main() -> None:
    sys.setswitchinterval(0.001)  # as the daemon does: the journal thread gets the GIL back fast
    events = make_events(EVENTS, USERS)
    clean("warm up", Rules().filters)  # the daemon builds the Unicode tables at start too
    gc.collect()
    base_rss = rss_mb()
    base_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Warm up as a running daemon would be (compiled patterns, allocator).
    open_rules = replace(Rules(), limits=LimitPolicy(global_=None))
    asyncio.run(run(events[:5000], open_rules))
    # Worst case: no global limit, so every free message reaches the filters.
    elapsed, counts = asyncio.run(run(events, open_rules))
    print(
        f"admission without a global limit: {len(events) / elapsed:.0f} events/s "
        f"({counts.get('accepted', 0)} accepted)"
    )
    gc.collect()
    with (
        tempfile.TemporaryDirectory(prefix="bench-journal-") as tmp,
        TimedJournal.open(Path(tmp)) as journal,
    ):
        durable_s, _ = asyncio.run(run(events, Rules(), journal))
    gc.collect()
    elapsed, counts = asyncio.run(run(events, Rules()))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    growth = max(rss_mb(), peak if peak > base_peak else 0.0) - base_rss
    rate = len(events) / elapsed
    print("decisions: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"admission+journal: {len(events) / durable_s:.0f} events/s")
    fsyncs = sorted(FULL_COMMITS_S)
    if fsyncs:
        p50, p99 = fsyncs[len(fsyncs) // 2], fsyncs[int(len(fsyncs) * 0.99)]
        print(
            f"paid acceptances durable (synchronous=FULL): {PAID[0]} in "
            f"{len(fsyncs)} fsynced commits, "
            f"{p50 * 1000:.2f} ms p50, {p99 * 1000:.2f} ms p99 per commit"
        )
    print(f"admission: {rate:.0f} events/s, rss +{max(growth, 0.0):.1f} MB")


if __name__ == "__main__":
    main()
