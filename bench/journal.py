"""Benchmark: the journal's cost per call, and admission with the journal on.

1. 20,000 messages through `record_accepted`, `mark_playing`, `mark_finished`
   (60,000 calls), with ``synchronous=NORMAL`` (the default) and ``FULL``:
   ops/s and per-call latency (median, p99, max), on the disk holding the
   temporary directory (``$TMPDIR``, or pass a directory as argv[1]).
2. The admission benchmark's events through `Admission` with every decision
   recorded as the conductor will: `admission_with_journal()` is what
   ``bench/admission.py`` calls to print ``admission+journal: N events/s``.

The last line is ``journal: N ops/s, median X us, p99 Y us, max Z ms``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamer_tts.core.decisions import Message, Priority
from streamer_tts.core.events import Source
from streamer_tts.journal import Journal
from streamer_tts.journal.database import Synchronous

MESSAGES = 20_000

__all__ = ["journal_calls"]


def _message(i: int) -> Message:
    return Message(
        id=f"m{i}",
        source=Source.CHEER if i % 10 == 0 else Source.CHAT,
        user=f"user{i % 500}",
        name=f"User{i % 500}",
        priority=Priority(i % 4),
        text=f"User{i % 500} says: that play was insane, clip it! number {i}",
        text_bare=f"that play was insane, clip it! number {i}",
        paid=i % 10 == 0,
        seq=i,
        enqueued_at=float(i),
        bits=100 if i % 10 == 0 else 0,
    )


def journal_calls(
    state_dir: Path, n: int = MESSAGES, synchronous: Synchronous = "NORMAL"
) -> tuple[float, list[int]]:
    """Accept, play and finish `n` messages; (ops/s, each call's ns)."""
    messages = [_message(i) for i in range(n)]
    times_ns: list[int] = []
    clock = time.perf_counter_ns
    with Journal.open(state_dir, synchronous=synchronous) as journal:
        t0 = time.perf_counter()
        for m in messages:
            a = clock()
            journal.record_accepted(m)
            b = clock()
            journal.mark_playing(m.id, spoken=m.text)
            c = clock()
            journal.mark_finished(m.id)
            times_ns += (b - a, c - b, clock() - c)
        elapsed = time.perf_counter() - t0
    return len(times_ns) / elapsed, times_ns


def _summary(rate: float, times_ns: list[int]) -> str:
    ordered = sorted(times_ns)
    p99 = ordered[int(len(ordered) * 0.99)]
    return (
        f"{rate:.0f} ops/s, median {statistics.median(ordered) / 1000:.0f} us, "
        f"p99 {p99 / 1000:.0f} us, max {ordered[-1] / 1e6:.1f} ms"
    )


def main() -> None:
    base = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory(prefix="bench-journal-", dir=base) as tmp:
        journal_calls(Path(tmp, "warm"), 2_000)
        full_rate, full_ns = journal_calls(Path(tmp, "full"), MESSAGES // 4, "FULL")
        rate, times_ns = journal_calls(Path(tmp, "normal"), MESSAGES)
    print(f"journal synchronous=FULL ({MESSAGES // 4} messages): {_summary(full_rate, full_ns)}")

    print(f"journal ({MESSAGES} messages x 3 calls): {_summary(rate, times_ns)}")


if __name__ == "__main__":
    main()
