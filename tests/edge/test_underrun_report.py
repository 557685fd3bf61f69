"""A streamed message whose engine stalls mid-way: reported once, counted, learnt from.

Real player, feed and conductor into a real-time WAV recording (no sound
server needed); the engine delivers 40 ms chunks at real-time pace and stalls
once for longer than any hold-back could cover.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from streamer_tts import logs
from streamer_tts.api.metrics import Metrics
from streamer_tts.audio.pcm import PcmFormat
from streamer_tts.audio.player import Player
from streamer_tts.conductor import Conductor
from streamer_tts.core.admission import Admission
from streamer_tts.core.events import ChatTTS, User
from streamer_tts.core.limits import LimitPolicy
from streamer_tts.core.rules import Rules
from streamer_tts.limiter import aiolimiter_gate
from tests.fakes.tone_engine import tone

RATE = 22050
CHUNK_S = 0.04
STALL_S = 0.3


class _Stalling:
    def __init__(self, engine: StallingEngine) -> None:
        self.engine = engine
        self.first_chunk_s: float | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        t0 = time.monotonic()
        chunk = tone(600, CHUNK_S, RATE)
        for i in range(self.engine.chunks):
            due = t0 + i * CHUNK_S + (STALL_S if i >= self.engine.stall_at else 0)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if self.first_chunk_s is None:
                self.first_chunk_s = time.monotonic() - t0
            yield chunk

    async def cancel(self) -> None:
        return None


class StallingEngine:
    name = "stalling"

    def __init__(self, *, chunks: int, stall_at: int) -> None:
        self.format = PcmFormat(RATE)
        self.chunks = chunks
        self.stall_at = stall_at

    async def start(self) -> None:
        return None

    def synthesize(self, text: str, *, voice: str | None = None) -> _Stalling:
        return _Stalling(self)

    async def close(self) -> None:
        return None


async def test_a_stall_is_one_underrun_event_counted_in_metrics(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []
    metrics = Metrics(primary_engine="stalling", depth=dict)
    player = Player(
        engines=[StallingEngine(chunks=20, stall_at=8)],
        output=f"file:{tmp_path / 'heard.wav'}",
        notify=lambda e: None,
        sample_rate=RATE,
        gap_ms=100,
        max_preroll_ms=120,
    )
    preroll_before = player.feed.preroll_frames
    rules = replace(Rules(), limits=LimitPolicy(per_user=None, global_=None))
    conductor = Conductor(Admission(rules, aiolimiter_gate), player)
    remove = logs.add_listener(events.append)
    remove_metrics = logs.add_listener(metrics.observe)
    await player.start()
    task = asyncio.create_task(conductor.run())
    try:
        conductor.submit(ChatTTS(id="late", user=User("viewer"), message="stall please"))
        deadline = time.monotonic() + 10
        while not [e for e in events if e["event"] == logs.TTS_FINISHED]:
            assert time.monotonic() < deadline, "the message never finished"
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await player.close()
        remove()
        remove_metrics()
    underruns = [e for e in events if e["event"] == logs.AUDIO_UNDERRUN]
    assert len(underruns) == 1 and underruns[0]["id"] == "late"
    # the stall less what the hold-back rode out (40 ms), within scheduling slack
    assert 180 <= underruns[0]["ms"] <= 320, underruns
    names = [e["event"] for e in events]
    assert names.index(logs.AUDIO_UNDERRUN) < names.index(logs.TTS_FINISHED)
    assert b"tts_audio_underruns_total 1.0" in metrics.render()
    assert player.feed.preroll_frames > preroll_before, "the hold-back did not grow"


def test_device_underflows_are_read_from_the_output_when_scraped() -> None:
    underflows = [0]
    metrics = Metrics(primary_engine="x", depth=dict, device_underflows=lambda: underflows[0])
    assert b"tts_device_underflows_total 0.0" in metrics.render()
    underflows[0] = 3  # the device callback counts; a scrape reads it then
    assert b"tts_device_underflows_total 3.0" in metrics.render()
    assert b"tts_audio_underruns_total 0.0" in metrics.render()  # a different thing
