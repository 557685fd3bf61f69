"""`make demo`: the admission core on a scripted minute of a stream.

Every event of the script goes through the real core (filters, tiers,
aiolimiter gates, queue) and each decision prints as one readable line; a
simulated speaker then takes messages off the queue in play order.
"""

from __future__ import annotations

import asyncio
import sys
import time

from . import logs
from .core.admission import Admission
from .core.decisions import Accepted, Control, Decision, Rejected
from .core.events import (
    ChatTTS,
    Cheer,
    Fragment,
    FragmentKind,
    GiftSubs,
    Role,
    Skip,
    Subscription,
    SubTier,
    User,
)
from .core.rules import Rules
from .limiter import aiolimiter_gate

__all__ = ["SCRIPT", "log_decision", "run_demo"]

alice = User("alice", "Alice")
bob = User("bob", "Bob")
spammer = User("spammy", "Spammy")
mod = User("modmia", "ModMia", frozenset({Role.MODERATOR}))
whale = User("whale", "BigWhale", frozenset({Role.SUBSCRIBER}))

SCRIPT: list[tuple[float, object]] = [
    (0.0, ChatTTS(id="c1", user=alice, message="hello chat, first time here!")),
    (
        0.2,
        Cheer(
            id="b1",
            user=bob,
            amount_bits=100,
            message="Cheer100 nice play",
            fragments=(Fragment(FragmentKind.CHEERMOTE, "Cheer100"),),
        ),
    ),
    (
        0.4,
        Cheer(
            id="b2",
            user=whale,
            amount_bits=1000,
            message="Cheer1000 take my bits",
            fragments=(Fragment(FragmentKind.CHEERMOTE, "Cheer1000"),),
        ),
    ),
    (0.5, Cheer(id="b3", user=alice, amount_bits=10, message="Cheer10 tiny")),
    (
        0.6,
        Subscription(
            id="s1", user=bob, tier=SubTier.TIER1, months=12, message="a whole year already"
        ),
    ),
    (0.7, GiftSubs(id="g1", user=whale, count=5)),
    *[
        (0.8 + i * 0.05, ChatTTS(id=f"sp{i}", user=spammer, message=f"spam number {i}"))
        for i in range(5)
    ],
    (1.2, ChatTTS(id="c2", user=bob, message="check out https://example.com/free-stuff")),
    (1.3, ChatTTS(id="c3", user=alice, message="<speak><break time='10s'/></speak> hi")),
    (1.4, ChatTTS(id="c4", user=bob, message="sooooooooo gooooood lol lol lol lol")),
    (1.5, Cheer(id="b2", user=whale, amount_bits=1000, message="Cheer1000 take my bits")),
    (1.6, Skip(by=alice)),
    (1.7, Skip(by=mod)),
]


def log_decision(decision: Decision, now: float) -> None:
    """The event-log lines for one decision (shared with the daemon)."""
    if isinstance(decision, Accepted):
        m = decision.message
        if decision.evicted is not None:
            logs.emit(logs.TTS_DROPPED, id=decision.evicted.id, reason="queue_full")
        logs.emit(
            logs.TTS_ACCEPTED,
            id=m.id,
            source=str(m.source),
            user=m.user,
            priority=str(m.priority),
            text=m.text,
        )
    elif isinstance(decision, Rejected):
        logs.emit(
            logs.TTS_REJECTED,
            id=decision.id,
            source=str(decision.source or ""),
            user=decision.user,
            reason=str(decision.reason),
            detail=decision.detail,
        )
    elif isinstance(decision, Control):
        logs.emit(
            "tts.control",
            action=decision.action,
            user=decision.by,
            target=decision.target,
            detail=decision.detail,
        )
        for m in decision.dropped:
            logs.emit(logs.TTS_DROPPED, id=m.id, reason=decision.action)


async def _demo(fast: bool) -> None:
    admission = Admission(Rules(), aiolimiter_gate)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for at, event in SCRIPT:
        if not fast:
            await asyncio.sleep(max(0.0, start + at - loop.time()))
        now = loop.time()
        decision = admission.decide(event, now)  # type: ignore[arg-type]
        log_decision(decision, now)
        if isinstance(decision, Control) and decision.action == "skip" and admission.playing:
            logs.emit(logs.TTS_SKIPPED, id=admission.playing.id, by=decision.by)
            admission.finished(admission.playing.id)
        if at == 1.5 and admission.playing is None:
            # The speaker starts: the biggest cheer first, whatever the arrival order.
            message = admission.next_message(loop.time())
            if message is not None:
                logs.emit(logs.TTS_STARTED, id=message.id, engine="demo", text=message.spoken)
    while (message := admission.next_message(loop.time())) is not None:
        logs.emit(logs.TTS_STARTED, id=message.id, engine="demo", text=message.spoken)
        if not fast:
            await asyncio.sleep(0.1)
        logs.emit(logs.TTS_FINISHED, id=message.id)
        admission.finished(message.id)


def run_demo(*, fast: bool = False) -> int:
    logs.setup_logging(format="text", stream=sys.stdout)
    print("streamer-tts demo: scripted events through the admission core\n")
    t0 = time.monotonic()
    asyncio.run(_demo(fast))
    print(f"\ndemo finished in {time.monotonic() - t0:.1f} s")
    return 0
