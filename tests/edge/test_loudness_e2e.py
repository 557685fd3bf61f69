"""Matched loudness end to end: one sentence through the real Piper, the real
espeak-ng and a cloud engine (AzureEngine against the fake Azure server), each
through the real player into a real-time WAV file, measured with pyloudnorm.

The fake cloud speaks the sentence as recorded from Piper, made about 6 dB
louder (saturated, as a loud cloud voice is), so the three start apart; an
alias with `gain_db: -6` must land 6 LU under the others, and the alert
chime before a message at the target too.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyloudnorm as pyln
import pytest
import soxr

from streamer_tts import sounds
from streamer_tts.audio.pcm import PcmFormat, resample
from streamer_tts.audio.voices import AliasVoice
from streamer_tts.core.events import ChatTTS, Source, User
from streamer_tts.core.rules import DEFAULT_SOURCES
from streamer_tts.speech.azure import AzureEngine
from streamer_tts.speech.espeak import EspeakEngine
from streamer_tts.speech.piper import PiperEngine
from tests.edge.engine_rig import RULES
from tests.edge.test_player import RATE, Rig
from tests.fakes import azure_server
from tests.fakes.azure_server import FakeAzureServer

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed"),
]

TARGET = -18.0
SENTENCE = (
    "Thanks for the raid everyone, welcome to the stream. "
    "Tonight we are playing a new game with friends."
)


def lufs(samples: np.ndarray, rate: int = RATE) -> float:
    return float(pyln.Meter(rate).integrated_loudness(samples.astype(np.float64) / 32768))


def heard(samples: np.ndarray) -> np.ndarray:
    """The recording from its first sound to its last (the silence around cut)."""
    sound = np.flatnonzero(samples)
    return samples[sound[0] : sound[-1] + 1]


async def collect(engine: Any, text: str) -> bytes:
    return b"".join([chunk async for chunk in engine.synthesize(text)])


def louder_cloud_voice(piper_pcm: bytes) -> bytes:
    """Piper's sentence, saturated ~6 dB louder and at the fake's 24 kHz."""
    x = np.frombuffer(piper_pcm, "<i2").astype(np.float64) / 32768
    y = np.tanh(3 * x) / np.tanh(3)
    y = soxr.resample(y, 22050, 24000)
    return np.clip(np.rint(y * 32000), -32768, 32767).astype("<i2").tobytes()


async def played(path: Path, engine: Any, *, sound: str | None = None) -> np.ndarray:
    """The sentence through a real player (levelling at the default target),
    as recorded by its file output."""
    rules = RULES
    if sound is not None:
        sources = dict(DEFAULT_SOURCES)
        sources[Source.CHAT] = replace(DEFAULT_SOURCES[Source.CHAT], sound=sound)
        rules = replace(RULES, sources=sources)
    rig = Rig(path, [engine], rules, gap_ms=100, loudness_lufs=TARGET, max_message_seconds=60)
    await rig.player.start()
    task = asyncio.create_task(rig.conductor.run())
    try:
        rig.conductor.submit(ChatTTS(id="m1", user=User("viewer"), message=SENTENCE))
        await rig.settle(timeout_s=60)
    finally:
        task.cancel()
        await rig.player.close()
    return rig.samples()


@pytest.fixture
async def engines() -> AsyncIterator[dict[str, Any]]:
    piper, espeak, soft = PiperEngine(), EspeakEngine(), EspeakEngine()
    for engine in (piper, espeak, soft):
        await engine.start()
    async with FakeAzureServer() as server:
        cloud = AzureEngine(key=server.key, endpoint=server.endpoint, timeout_s=5.0)
        await cloud.start()
        yield {"piper": piper, "espeak": espeak, "cloud": cloud, "soft": soft, "server": server}
        await cloud.close()
    for engine in (piper, espeak, soft):
        await engine.close()


async def test_one_sentence_through_three_engines_lands_within_1_lu(
    engines: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    piper, espeak, cloud = engines["piper"], engines["espeak"], engines["cloud"]
    cloud_pcm = louder_cloud_voice(await collect(piper, SENTENCE))
    monkeypatch.setattr(azure_server, "tone_pcm", lambda text, rate: cloud_pcm)
    soft = AliasVoice("soft", engines["soft"], {}, gain_db=-6.0)

    raw = {
        "piper": lufs(np.frombuffer(await collect(piper, SENTENCE), "<i2")),
        "espeak": lufs(np.frombuffer(await collect(espeak, SENTENCE), "<i2")),
        "cloud": lufs(np.frombuffer(await collect(cloud, SENTENCE), "<i2"), 24000),
    }
    assert max(raw.values()) - min(raw.values()) > 3  # they start well apart

    voices = {"piper": piper, "espeak": espeak, "cloud": cloud, "soft (gain_db -6)": soft}
    recordings = await asyncio.gather(
        *(played(tmp_path / f"{n}.wav", e) for n, e in enumerate(voices.values()))
    )
    levelled = {name: lufs(heard(s)) for name, s in zip(voices, recordings, strict=True)}
    for name, samples in zip(voices, recordings, strict=True):
        peak_dbfs = 20 * np.log10(np.abs(samples.astype(np.int32)).max() / 32768)
        print(
            f"{name}: raw {raw.get(name, raw['espeak']):.1f} LUFS -> "
            f"{levelled[name]:.1f} LUFS, peak {peak_dbfs:.1f} dBFS"
        )
        assert peak_dbfs <= -0.9  # never clipped
    for name in ("piper", "espeak", "cloud"):
        assert levelled[name] == pytest.approx(TARGET, abs=1.0), levelled
    assert levelled["soft (gain_db -6)"] == pytest.approx(TARGET - 6, abs=1.0), levelled


async def test_the_alert_chime_is_heard_at_the_target(
    engines: dict[str, Any], tmp_path: Path
) -> None:
    samples = heard(await played(tmp_path / "alert.wav", engines["espeak"], sound="default"))
    src, data = sounds.load("default")
    raw = np.frombuffer(resample(data, src, PcmFormat(RATE)), "<i2")
    chime = samples[: len(raw)]  # the chime comes first, the message right after
    print(f"chime: raw {lufs(raw):.1f} LUFS -> {lufs(chime):.1f} LUFS")
    assert abs(lufs(raw) - TARGET) > 1  # it needed levelling
    assert lufs(chime) == pytest.approx(TARGET, abs=0.5)
