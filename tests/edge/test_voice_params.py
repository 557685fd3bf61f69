"""Voice aliases at the engines: per-call parameters on one shared instance,
gain, inline parts in sequence, unavailable aliases, the fallback chain."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from streamer_tts import logs
from streamer_tts.audio.voices import AliasVoice, InlineVoice, build_voices
from streamer_tts.config import parse_config
from streamer_tts.core.decisions import Message, Priority
from streamer_tts.core.events import Source
from streamer_tts.speech.base import EngineError
from streamer_tts.speech.espeak import EspeakEngine
from tests.fakes.azure_server import FakeAzureServer
from tests.fakes.tone_engine import ToneEngine

pytestmark = pytest.mark.timeout(60)
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="no espeak-ng")


async def collect(synthesis: AsyncIterator[bytes], timeout_s: float = 20.0) -> bytes:
    async def drain() -> bytes:
        return b"".join([c async for c in synthesis])

    return await asyncio.wait_for(drain(), timeout_s)


def message(voice: str | None, text: str = "hello there", **meta: str) -> Message:
    m = Message("m1", Source.CHAT, "alice", "alice", Priority.LOW, text, "", False, 1, 0.0)
    m.voice, m.spoken = voice, text
    m.meta.update(meta)
    return m


@needs_espeak
async def test_espeak_aliases_share_one_engine_with_their_own_rate_and_voice() -> None:
    engine = EspeakEngine(voice="en-us", rate_wpm=175)
    await engine.start()
    try:
        text = "one two three four five six seven eight nine ten"
        slow = await collect(AliasVoice("slow", engine, {"rate": 90}).synthesize(text))
        fast = await collect(AliasVoice("fast", engine, {"rate": 400}).synthesize(text))
        posh = await collect(AliasVoice("posh", engine, {"voice": "en-gb"}).synthesize(text))
        plain = await collect(engine.synthesize(text))
        assert len(slow) > 2 * len(fast)
        assert posh != plain
        assert engine.rate_wpm == 175 and engine.voice == "en-us"  # the engine is unchanged
    finally:
        await engine.close()


async def test_piper_aliases_share_one_model_with_their_own_length_scale() -> None:
    from streamer_tts.speech.piper import PiperEngine

    engine = PiperEngine()
    await engine.start()
    try:
        text = "A message read at two speeds by one loaded voice."
        normal = await collect(AliasVoice("joe", engine, {}).synthesize(text))
        slow = await collect(AliasVoice("slow", engine, {"length_scale": 1.6}).synthesize(text))
        assert len(slow) > 1.3 * len(normal)
    finally:
        await engine.close()


async def test_azure_alias_names_its_own_neural_voice() -> None:
    from streamer_tts.speech.azure import AzureEngine

    async with FakeAzureServer() as server:
        engine = AzureEngine(key=server.key, endpoint=server.endpoint, timeout_s=2.0)
        await engine.start()
        try:
            ryan = AliasVoice("ryan", engine, {"voice": "en-GB-RyanNeural"})
            assert await collect(ryan.synthesize("hi"))
            assert await collect(engine.synthesize("hi"))
        finally:
            await engine.close()
        bodies = [r["body"].decode() for r in server.requests]
        assert "en-GB-RyanNeural" in bodies[0] and "en-US-AriaNeural" in bodies[1]


async def test_gain_scales_the_alias_only() -> None:
    tone = ToneEngine()
    loud = np.frombuffer(await collect(AliasVoice("a", tone, {}).synthesize("tone 440 0.2")), "<i2")
    soft = AliasVoice("b", tone, {}, gain_db=-6.0)
    quiet = np.frombuffer(await collect(soft.synthesize("tone 440 0.2")), "<i2")
    ratio = np.abs(quiet).max() / np.abs(loud).max()
    assert 0.45 < ratio < 0.55


async def test_inline_parts_play_in_sequence_resampled_to_the_first() -> None:
    low, high = ToneEngine(sample_rate=22050), ToneEngine(sample_rate=44100)
    inline = InlineVoice(
        [(AliasVoice("a", low, {}), "tone 300 0.3"), (AliasVoice("b", high, {}), "tone 900 0.2")]
    )
    pcm = await collect(inline.synthesize(""))
    assert abs(len(pcm) / 2 / 22050 - 0.5) < 0.02  # both parts, at the first part's rate
    cut = inline.synthesize("")
    first = await anext(aiter(cut))
    await cut.cancel()
    assert first and [c async for c in cut] == []  # a skip cuts all the parts


async def test_the_book_chain_an_unavailable_alias_and_today_without_voices() -> None:
    text = """
engine: {primary: piper, fallback: espeak}
voices:
  default: joe
  aliases:
    joe: {engine: piper}
    aria: {engine: azure}
    robot: {engine: espeak, rate: 170}
"""
    config = parse_config(text, env={})
    piper, espeak = ToneEngine(name="piper"), ToneEngine(name="espeak")
    book = build_voices(config, [piper, espeak], sample_rate=22050)
    assert book is not None and [e.name for e in book.extra] == ["azure"]
    seen: list[dict[str, Any]] = []
    remove = logs.add_listener(seen.append)
    try:
        await book.start()
    finally:
        remove()
    lines = [e for e in seen if e["event"] == "voice.unavailable"]
    assert [(e["voice"], e["engine"]) for e in lines] == [("aria", "azure")]
    assert book.unavailable() == {"aria"}
    # an alias's engine, then the fallback, then the primary (not the alias's own twice)
    assert [v.name for v in book.chain(message("aria")) or []] == ["azure", "espeak", "piper"]
    assert [v.name for v in book.chain(message("robot")) or []] == ["espeak", "piper"]
    with pytest.raises(EngineError):  # fails at once: the player moves on to the fallback
        await collect(book.chain(message("aria"))[0].synthesize("hi"))  # type: ignore[index]
    assert book.chain(message(None)) is None  # no alias: the player's engines, as today
    stale = book.chain(message("added_by_a_reload")) or []
    assert [(v.name, v.options) for v in stale] == [("piper", {}), ("espeak", {})]
    inline = message("joe")
    inline.meta.update(
        inline='[["robot", "beep"], ["", "plain"]]', inline_head="alice says", inline_head_bare=""
    )
    first = (book.chain(inline) or [None])[0]
    assert isinstance(first, InlineVoice)
    assert [v.alias for v, _ in first.parts] == ["joe", "robot", "joe"]
    assert [t for _, t in first.parts] == ["alice says", "beep", "plain"]
    await book.close()
    assert build_voices(parse_config("", env={}), [piper], sample_rate=22050) is None
