"""Piper run as front + decoder: spans decode to the same audio, gains never step or clip."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from streamer_tts.speech import piper as piper_module
from streamer_tts.speech.piper import HEAD_FRAMES, PiperEngine
from streamer_tts.speech.piper_split import CONTEXT_FRAMES, span_gains, spans, split_model

RAMP = 220


@given(frames=st.integers(1, 2000), first=st.integers(1, 200))
def test_spans_cover_every_frame_once_starting_short(frames: int, first: int) -> None:
    parts = spans(frames, first)

    assert parts[0][0] == 0 and parts[-1][1] == frames
    assert all(a[1] == b[0] for a, b in itertools.pairwise(parts))
    assert all(start < end for start, end in parts)
    # the first span is short unless what would follow it is shorter still
    assert parts[0][1] - parts[0][0] == (first if frames >= 2 * first else frames)
    sizes = [end - start for start, end in parts]
    assert all(b >= a for a, b in itertools.pairwise(sizes))  # later ones grow


@settings(max_examples=200)
@given(data=st.data(), reference=st.floats(0.05, 1.0), spans_count=st.integers(1, 5))
def test_span_gains_never_step_and_never_clip_after_a_glide(
    data: st.DataObject, reference: float, spans_count: int
) -> None:
    gain = None
    for n in range(spans_count):
        size = data.draw(st.integers(2, 600))  # spans are thousands of samples
        audio = np.array(
            data.draw(st.lists(st.floats(-1.0, 1.0, width=32), min_size=size, max_size=size)),
            dtype=np.float32,
        )
        peak = float(np.abs(audio).max())
        gains, after = span_gains(audio, gain, reference, RAMP)
        per_sample = np.broadcast_to(np.asarray(gains, dtype=np.float64), audio.shape)
        if n == 0:  # set by the first span: its own peak or the typical one, whichever is higher
            assert after == pytest.approx(1.0 / max(peak, reference, 1e-8))
            assert np.all(per_sample == after)
        else:
            assert per_sample[0] == pytest.approx(gain, rel=1e-6)  # no step at the seam
            assert np.all(np.diff(per_sample) <= 1e-9)  # only ever glides down
        assert per_sample[-1] == pytest.approx(after, rel=1e-6)
        tail = np.abs(audio[RAMP:] * per_sample[RAMP:])
        assert tail.size == 0 or tail.max() <= 1.0 + 1e-6  # past the glide: no clipping
        gain = after


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine() -> AsyncIterator[PiperEngine]:
    piper = PiperEngine()
    await piper.start()
    yield piper
    await piper.close()


pytestmark_async = pytest.mark.asyncio(loop_scope="module")
"""Only the tests using the engine are asyncio tests; the property tests are plain."""


def quiet_config() -> Any:
    from piper import SynthesisConfig

    return SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)  # no noise: repeatable


@pytestmark_async
async def test_the_voice_is_cut_at_its_decoder(engine: PiperEngine) -> None:
    voice: Any = engine._voice
    assert voice.decoder is not None
    assert 0.2 < voice.reference_peak < 1.0  # raw Piper audio peaks around 0.5


@pytestmark_async
async def test_front_and_decoder_make_what_the_whole_model_makes(engine: PiperEngine) -> None:
    import onnxruntime

    voice: Any = engine._voice
    whole = onnxruntime.InferenceSession(engine.voice_path, providers=["CPUExecutionProvider"])
    ids = voice.voice.phonemes_to_ids(voice.phonemize("Thanks for the raid, everyone!")[0])
    inputs = voice._inputs(ids, quiet_config())

    expected = np.asarray(whole.run(None, inputs)[0]).reshape(-1)
    got = voice._whole(ids, quiet_config()).reshape(-1)

    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-5


@pytestmark_async
async def test_spans_decode_to_the_same_audio_as_the_whole_sentence(engine: PiperEngine) -> None:
    voice: Any = engine._voice
    text = "Welcome to the stream everyone, grab a drink and enjoy the show tonight"
    ids = voice.voice.phonemes_to_ids(voice.phonemize(text)[0])
    latent = voice._front(ids, quiet_config())
    frames = latent[voice.frames_name].shape[2]
    assert frames > 4 * HEAD_FRAMES  # several spans, each with context on both sides

    whole = voice._decode(latent, 0, frames)
    parts = [voice._decode(latent, a, b) for a, b in spans(frames, HEAD_FRAMES)]
    joined = np.concatenate(parts)

    assert len(spans(frames, HEAD_FRAMES)) >= 3
    assert joined.shape == whole.shape
    assert np.abs(joined - whole).max() < 1e-5  # sample for sample: no seam
    # without the context, the seams would be heard
    z = latent[voice.frames_name]
    bare = np.concatenate(
        [
            np.asarray(voice.decoder.run(None, {voice.frames_name: z[:, :, a:b]})[0]).reshape(-1)
            for a, b in spans(frames, HEAD_FRAMES)
        ]
    )
    assert np.abs(bare - whole).max() > 0.01
    assert CONTEXT_FRAMES <= HEAD_FRAMES


@pytestmark_async
async def test_a_spanned_sentence_has_one_gain_across_its_seams(engine: PiperEngine) -> None:
    voice: Any = engine._voice
    text = "Thank you so much for the sub"
    spanned = [
        np.frombuffer(pcm, "<i2").astype(np.float64)
        for pcm, _ in voice.synthesize(text, quiet_config(), head_frames=HEAD_FRAMES)
    ]
    ids = voice.voice.phonemes_to_ids(voice.phonemize(text)[0])
    raw = voice._whole(ids, quiet_config()).reshape(-1).astype(np.float64) * 32767

    assert len(spanned) >= 2
    audio = np.concatenate(spanned)
    assert audio.shape == raw.shape
    gain = float(np.dot(audio, raw) / np.dot(raw, raw))
    # one gain (no glide for this sentence), within 16-bit truncation and float error:
    # a step of even 0.5 dB at a seam would be off by hundreds
    assert np.abs(audio - raw * gain).max() <= 4
    assert np.abs(audio).max() <= 32767


@pytestmark_async
async def test_a_model_that_cannot_be_cut_runs_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(piper_module, "split_model", lambda path: None)
    piper = PiperEngine()
    await piper.start()
    try:
        voice: Any = piper._voice
        assert voice.decoder is None
        chunks = [c async for c in piper.synthesize("Hello chat, and welcome.")]
        assert len(chunks) == 2  # one per piece: no spans
        assert max(np.abs(np.frombuffer(c, "<i2").astype(np.int32)).max() for c in chunks) > 30000
    finally:
        await piper.close()


def test_a_graph_without_a_decoder_is_not_cut(tmp_path: Any) -> None:
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Identity", ["x"], ["y"], name="/enc/Identity")
    graph = helper.make_graph(
        [node],
        "plain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "plain.onnx"
    onnx.save(helper.make_model(graph), str(path))

    assert split_model(str(path)) is None
