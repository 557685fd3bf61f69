"""`make demo`: the full daemon on a scripted stream, spoken by Piper.

Every event of the script goes through the real core (filters, tiers,
aiolimiter gates, queue), the conductor and the player; each decision and
each sound prints as one readable line.
"""

from __future__ import annotations

import asyncio
import sys
import time

from . import logs
from .audio.noise import filter_native_stderr
from .config import Config
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
from .daemon import Daemon, serve

__all__ = ["SCRIPT", "run_demo"]

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


def _demo_output() -> str:
    """Speakers if the machine has a sound device, else `demo.wav`."""
    from .audio.outputs import OutputError, find_output_device

    try:
        find_output_device("default")
    except OutputError:
        return "file:demo.wav"
    return "default"


async def _play_script(daemon: Daemon, fast: bool) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    for at, event in SCRIPT:
        if not fast:
            await asyncio.sleep(max(0.0, start + at - loop.time()))
        daemon.conductor.submit(event)
    await asyncio.sleep(0.1)
    await daemon.conductor.drained()
    await asyncio.sleep(0.3)  # the last fade-out and the output's own buffer


def run_demo(*, fast: bool = False) -> int:
    filter_native_stderr()
    logs.setup_logging(format="text", stream=sys.stdout)
    output = _demo_output()
    where = "the speakers" if output == "default" else "demo.wav (no sound device here)"
    print(f"streamer-tts demo: a scripted stream, spoken by the offline Piper voice to {where}\n")
    config = Config.model_validate({"audio": {"output": output, "gap_ms": 300}})
    t0 = time.monotonic()
    code = asyncio.run(
        serve(config, until=lambda d: _play_script(d, fast), twitch=False, journal=False)
    )
    print(
        f"\ndemo finished in {time.monotonic() - t0:.1f} s"
        + ("; listen with: play demo.wav" if output != "default" else "")
    )
    return code
