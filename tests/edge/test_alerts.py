"""Alert sounds end to end: chime then message in one segment, into a WAV file.

The chime is a tone WAV at another rate than the player's (so it is resampled)
and another frequency than the message's, so the recording shows which played.
"""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from streamer_tts import logs
from streamer_tts.core.events import ChatTTS, Skip, Source, User
from streamer_tts.core.rules import DEFAULT_SOURCES, Rules
from tests.edge.test_player import MOD, OPEN_LIMITS, RATE, Rig, tone_regions
from tests.fakes.tone_engine import ToneEngine, tone

CHIME_HZ, CHIME_S = 2900, 0.4
GAP_MS = 300


@pytest.fixture
async def alerted(tmp_path: Path) -> AsyncIterator[Rig]:
    chime = tmp_path / "chime.wav"
    with wave.open(str(chime), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(tone(CHIME_HZ, CHIME_S, 16000))
    sources = dict(DEFAULT_SOURCES)
    sources[Source.CHAT] = replace(DEFAULT_SOURCES[Source.CHAT], sound=str(chime))
    rules = replace(Rules(), limits=OPEN_LIMITS, sources=sources)
    r = Rig(tmp_path / "out.wav", [ToneEngine()], rules, gap_ms=GAP_MS)
    remove = logs.add_listener(r.events.append)
    await r.player.start()
    task = asyncio.create_task(r.conductor.run())
    yield r
    task.cancel()
    await r.player.close()
    remove()


def chat(mid: str, freq: int, seconds: float) -> ChatTTS:
    return ChatTTS(id=mid, user=User(f"v{mid}"), message=f"tone {freq} {seconds}")


async def test_the_chime_plays_right_before_its_message_and_gaps_fall_between(
    alerted: Rig,
) -> None:
    alerted.conductor.submit(chat("a", 500, 0.6))
    alerted.conductor.submit(chat("b", 1100, 0.6))
    await alerted.settle()
    assert alerted.names(logs.TTS_FINISHED) == ["a", "b"]
    samples = alerted.samples()
    chimes = tone_regions(samples, CHIME_HZ)
    a, b = tone_regions(samples, 500), tone_regions(samples, 1100)
    assert len(chimes) == 2 and len(a) == 1 and len(b) == 1, (chimes, a, b)
    for chime, (start, end) in zip(chimes, (a[0], b[0]), strict=True):
        assert abs((chime[1] - chime[0]) / RATE - CHIME_S) < 0.02  # resampled, whole
        assert abs(start - chime[1]) * 1000 / RATE < 10  # no gap between chime and message
        assert abs((end - start) / RATE - 0.6) < 0.02
    gap_ms = (chimes[1][0] - a[0][1]) * 1000 / RATE  # the gap rule: between messages
    assert abs(gap_ms - GAP_MS) <= 20, gap_ms


async def test_a_skip_during_the_chime_cuts_the_message_too(alerted: Rig) -> None:
    alerted.conductor.submit(chat("a", 500, 2.0))
    async with asyncio.timeout(10):
        while logs.TTS_STARTED not in {e["event"] for e in alerted.events}:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # inside the 0.4 s chime
    alerted.conductor.submit(Skip(by=MOD))
    await alerted.settle()
    assert alerted.names(logs.TTS_SKIPPED) == ["a"]
    samples = alerted.samples()
    assert tone_regions(samples, 500) == []  # the message never sounded
    (chime,) = tone_regions(samples, CHIME_HZ)
    assert (chime[1] - chime[0]) / RATE < CHIME_S - 0.05  # the chime itself was cut
    assert np.abs(samples[chime[1] + RATE // 20 :].astype(int)).max(initial=0) < 400
