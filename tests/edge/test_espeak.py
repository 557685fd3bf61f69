"""EspeakEngine with the real espeak-ng binary (no sound device involved)."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio

from streamer_tts.speech.base import Engine, EngineConfigError, EngineError, PcmFormat
from streamer_tts.speech.espeak import EspeakEngine, plain_text
from tests.edge.engine_rig import FallbackRig, assert_fell_back

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.timeout(60),
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (make setup)"),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine() -> AsyncIterator[EspeakEngine]:
    espeak = EspeakEngine()
    await espeak.start()
    yield espeak
    await espeak.close()


async def speak(engine: Any, text: str) -> np.ndarray:
    chunks = [c async for c in engine.synthesize(text)]
    return np.frombuffer(b"".join(chunks), "<i2")


async def test_speaks_real_audio_at_its_format(engine: EspeakEngine) -> None:
    assert isinstance(engine, Engine)
    assert engine.format == PcmFormat(sample_rate=22050, channels=1)
    synthesis = engine.synthesize("Thanks for the raid, everyone.")

    samples = np.frombuffer(b"".join([c async for c in synthesis]), "<i2")

    assert 1.0 < len(samples) / 22050 < 5.0
    assert np.abs(samples).max() > 3000
    assert synthesis.first_chunk_s is not None and synthesis.first_chunk_s < 0.5


async def test_rate_is_words_per_minute_per_engine(engine: EspeakEngine) -> None:
    text = "one two three four five six seven eight nine ten eleven twelve"
    slow = EspeakEngine(rate_wpm=100)
    await slow.start()  # a second engine shares the process's one espeak-ng
    try:
        slow_s = len(await speak(slow, text)) / 22050
        normal_s = len(await speak(engine, text)) / 22050
        assert slow_s > normal_s * 1.4
        assert abs(len(await speak(slow, text)) / 22050 - slow_s) < 0.05
    finally:
        await slow.close()


async def test_engines_with_different_rates_interleave_without_mixing_up(
    engine: EspeakEngine,
) -> None:
    text = "one two three four five six"
    fast = EspeakEngine(rate_wpm=350)
    await fast.start()
    try:
        results = await asyncio.gather(*(speak(e, text) for _ in range(4) for e in (engine, fast)))
    finally:
        await fast.close()
    normal_s = {round(len(r) / 22050, 2) for r in results[0::2]}
    fast_s = {round(len(r) / 22050, 2) for r in results[1::2]}
    assert len(normal_s) == 1 and len(fast_s) == 1
    assert max(fast_s) * 1.4 < min(normal_s)


async def test_nothing_printed_to_stdout(
    engine: EspeakEngine, capfd: pytest.CaptureFixture[str]
) -> None:
    await speak(engine, "quiet please")
    assert capfd.readouterr().out == ""


async def test_a_leading_dash_is_text_not_an_option(engine: EspeakEngine) -> None:
    assert len(await speak(engine, "--version please")) > 22050 // 2


async def test_phoneme_brackets_are_not_control_syntax() -> None:
    assert plain_text("hi [[b'Ad]] there") == "hi  b'Ad  there"
    assert plain_text("[[ [") == ""
    assert plain_text("[[]]") == ""


async def test_empty_text_ends_at_once(engine: EspeakEngine) -> None:
    started_s = time.monotonic()
    assert len(await speak(engine, " [[ ]] ")) == 0
    assert time.monotonic() - started_s < 1.0
    assert len(await speak(engine, "still fine")) > 0


async def test_cancel_mid_message_kills_the_process(engine: EspeakEngine) -> None:
    synthesis = engine.synthesize("a long message " * 200)
    first = await anext(synthesis)
    await synthesis.cancel()
    assert first and [c async for c in synthesis] == []
    assert engine._active == set()


async def test_missing_binary_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(EngineConfigError, match=r"espeak-ng is not installed \(apt-get install"):
        await EspeakEngine().start()


async def test_unknown_voice_is_a_config_error_naming_it() -> None:
    with pytest.raises(EngineConfigError, match=r"^espeak: unknown voice 'xx-nowhere' \(see"):
        await EspeakEngine(voice="xx-nowhere").start()


async def test_voice_by_id_and_language(engine: EspeakEngine) -> None:
    for voice in ("gmw/en-us", "en-gb"):
        other = EspeakEngine(voice=voice)
        await other.start()
        try:
            assert len(await speak(other, "hello")) > 0
        finally:
            await other.close()


async def test_after_close_it_fails_as_an_engine_error() -> None:
    espeak = EspeakEngine()
    await espeak.start()
    synthesis = espeak.synthesize("too late")
    await espeak.close()
    with pytest.raises(EngineError, match="engine closed"):
        await anext(synthesis)


async def test_wav_header_parsing() -> None:
    from streamer_tts.speech.espeak import wav_header_rate

    header = bytes.fromhex(
        "52494646 24f0ff7f 57415645 666d7420 10000000 01000100 22560000 44ac0000"
        " 02001000 64617461 00f0ff7f".replace(" ", "")
    )
    assert wav_header_rate(header) == 22050
    with pytest.raises(ValueError):
        wav_header_rate(header[:20])
    with pytest.raises(ValueError):
        wav_header_rate(header.replace(b"\x01\x00\x01\x00", b"\x01\x00\x02\x00"))


async def test_a_failing_message_is_read_by_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    espeak = EspeakEngine()
    async with FallbackRig(tmp_path / "out.wav", espeak) as rig:
        await rig.say("ok", "hello chat")
        monkeypatch.setattr(espeak, "_binary", "/bin/false")
        await rig.say("bad", "tone 440 0.3")
    assert rig.trail("ok")[-1] == ("tts.finished", None)
    assert ("tts.started", "espeak") in rig.trail("ok")
    assert_fell_back(rig, "bad", "espeak")
    assert np.abs(rig.samples()).max() > 3000
