"""Run a real engine as the primary behind the real player and conductor, with a
tone engine as the fallback, into a real-time WAV file: which engine spoke each
message is read from the event log, and that it was heard from the recording."""

from __future__ import annotations

import asyncio
import wave
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from streamer_tts import logs
from streamer_tts.audio.player import Player
from streamer_tts.conductor import Conductor
from streamer_tts.core.admission import Admission
from streamer_tts.core.events import ChatTTS, User
from streamer_tts.core.limits import LimitPolicy
from streamer_tts.core.rules import NameMode, Rules
from streamer_tts.limiter import aiolimiter_gate
from tests.fakes.tone_engine import ToneEngine

RATE = 22050
RULES = replace(
    Rules(),
    limits=LimitPolicy(per_user=None, global_=None, max_pending_per_user=None),
    read_usernames=NameMode.NEVER,
)


class FallbackRig:
    """`[engine, ToneEngine("fallback")]` in a player writing `path`."""

    def __init__(self, path: Path, engine: Any) -> None:
        self.path = path
        self.events: list[dict[str, Any]] = []
        self.fallback = ToneEngine(name="fallback")
        self.player = Player(
            engines=[engine, self.fallback],
            output=f"file:{path}",
            notify=lambda e: None,
            sample_rate=RATE,
            gap_ms=50,
        )
        self.conductor = Conductor(Admission(RULES, aiolimiter_gate), self.player)

    async def __aenter__(self) -> FallbackRig:
        self._remove = logs.add_listener(self.events.append)
        await self.player.start()
        self._task = asyncio.create_task(self.conductor.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._task.cancel()
        await self.player.close()
        self._remove()

    async def say(self, mid: str, text: str, timeout_s: float = 20.0) -> None:
        """Submit one message and wait until it ended (finished, dropped or failed)."""
        self.conductor.submit(ChatTTS(id=mid, user=User(f"u{mid}"), message=text))
        await asyncio.sleep(0.05)
        await asyncio.wait_for(self.conductor.drained(), timeout_s)
        await asyncio.sleep(0.1)

    def trail(self, mid: str) -> list[tuple[str, str | None]]:
        """(event, engine) for one message, in order."""
        return [(e["event"], e.get("engine")) for e in self.events if e.get("id") == mid]

    def samples(self) -> np.ndarray:
        with wave.open(str(self.path)) as w:
            return np.frombuffer(w.readframes(w.getnframes()), "<i2")


def assert_fell_back(rig: FallbackRig, mid: str, engine: str) -> None:
    trail = rig.trail(mid)
    assert (logs.TTS_FAILED, engine) in trail, trail
    assert trail.index((logs.TTS_FAILED, engine)) < trail.index((logs.TTS_STARTED, "fallback"))
    assert (logs.TTS_FINISHED, None) in trail
    assert rig.fallback.started, "the fallback never spoke"
