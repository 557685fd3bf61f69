"""Piper's voice as two ONNX models, so a sentence is heard before it is all decoded.

A Piper (VITS) voice is one graph: text encoder, durations and flow make latent
frames (one per 256 samples), then a HiFi-GAN decoder turns them into audio. The
decoder takes about two thirds of the time and grows with the sentence, so the
whole graph makes the first sound wait for the whole first sentence. Cut at the
decoder's input, the frames can be decoded in spans: the decoder only sees about
11 frames either side of a sample, so a span decoded with `CONTEXT_FRAMES` of
context on each side is the same audio as the whole, sample for sample. A
message's first sentence starts with a short span (its first sound then waits
for the front part and a few hundred ms of decoding); later spans grow, and
later sentences are decoded whole. A model that cannot be cut this way (another
export) runs whole, as Piper does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    import onnxruntime
    from piper import PiperVoice, SynthesisConfig

__all__ = ["CONTEXT_FRAMES", "SplitVoice", "span_gains", "spans", "split_model"]

_LOG = logging.getLogger(__name__)
CONTEXT_FRAMES: Final = 12
"""Frames of context decoded on each side of a span: 8 still differ by a few
LSB from the whole, 12 are identical (en_US-joe-medium, checked in tests)."""
_DECODER_PREFIX: Final = "/dec/"
_DECODER_FIRST: Final = "/dec/conv_pre/Conv"
_GAIN_RAMP_S: Final = 0.01
"""A span that would clip after the first one was sent lowers the gain over this."""
_MAX_WAV: Final = 32767.0


def split_model(model_path: str) -> tuple[bytes, bytes, str] | None:
    """The front and decoder graphs of a Piper voice, and the frames' tensor name.

    None if the graph is not the usual Piper export (one output, a `/dec/` part
    fed by one frame tensor, plus a speaker embedding in multi-speaker voices).
    """
    import onnx
    from onnx.utils import Extractor

    model = onnx.load(model_path)
    graph = model.graph
    decoder = [n for n in graph.node if n.name.startswith(_DECODER_PREFIX)]
    made = {out for n in decoder for out in n.output}
    fixed = {i.name for i in graph.initializer}
    needs = sorted({i for n in decoder for i in n.input if i and i not in made and i not in fixed})
    first = next((n for n in decoder if n.name == _DECODER_FIRST), None)
    outputs = [o.name for o in graph.output]
    if first is None or len(outputs) != 1 or first.input[0] not in needs:
        return None
    extractor = Extractor(model)
    front = extractor.extract_model([i.name for i in graph.input], needs)
    back = extractor.extract_model(needs, outputs)
    return front.SerializeToString(), back.SerializeToString(), first.input[0]


def spans(frames: int, first: int) -> list[tuple[int, int]]:
    """[start, end) frame ranges covering `frames`: `first` long, then doubling.

    A last span shorter than the one before it is merged into it: each span is
    decoded while the ones before it play, and a long one needs the time.
    """
    out: list[tuple[int, int]] = []
    start, size = 0, max(1, first)
    while start < frames:
        end = min(frames, start + size)
        if frames - end < (2 * size if out else size):
            end = frames
        out.append((start, end))
        start, size = end, size * 2
    return out


class SplitVoice:
    """A loaded Piper voice run as front + decoder sessions (or whole, if it cannot be cut).

    Used by one worker thread at a time. `run_options` is the current message's:
    its `terminate` flag stops the run in progress.
    """

    def __init__(
        self,
        voice: PiperVoice,
        front: onnxruntime.InferenceSession,
        decoder: onnxruntime.InferenceSession | None,
        frames_name: str = "",
    ) -> None:
        self.voice = voice
        self.config = voice.config
        self.front = front
        self.decoder = decoder
        self.frames_name = frames_name
        self.run_options: onnxruntime.RunOptions | None = None
        self.reference_peak = 0.0
        """Raw peak of a typical sentence: a spanned sentence's gain is set before
        its own peak is known, so it is normalized to at least this."""

    def phonemize(self, text: str) -> list[list[str]]:
        return self.voice.phonemize(text)

    def calibrate(self, texts: Sequence[str]) -> None:
        """Speak `texts` (paying the sessions' slow first runs) and keep their median raw peak."""
        peaks = [float(np.abs(audio).max()) for text in texts for audio in self._raw(text)]
        self.reference_peak = float(np.median(peaks)) if peaks else 0.0

    def synthesize(
        self, text: str, syn_config: SynthesisConfig | None = None, *, head_frames: int = 0
    ) -> Iterator[tuple[bytes, bool]]:
        """(pcm s16le, last) per span or sentence; the first sentence in spans if `head_frames`."""
        from piper import SynthesisConfig

        syn = syn_config or SynthesisConfig()
        sentences = [p for p in self.phonemize(text) if p]
        for n, phonemes in enumerate(sentences):
            ids = self.voice.phonemes_to_ids(phonemes)
            final = n == len(sentences) - 1
            for pcm, last in self._spanned(ids, syn, head_frames if n == 0 else 0):
                yield pcm, last and final

    # ---- internals ----------------------------------------------------

    def _raw(self, text: str) -> Iterator[np.ndarray]:
        from piper import SynthesisConfig

        for phonemes in self.phonemize(text):
            if phonemes:
                ids = self.voice.phonemes_to_ids(phonemes)
                yield self._whole(ids, SynthesisConfig())

    def _inputs(self, ids: list[int], syn: SynthesisConfig) -> dict[str, np.ndarray]:
        """The model's inputs, as Piper's `phoneme_ids_to_audio` builds them."""
        config = self.config
        scales = [
            config.noise_scale if syn.noise_scale is None else syn.noise_scale,
            config.length_scale if syn.length_scale is None else syn.length_scale,
            config.noise_w_scale if syn.noise_w_scale is None else syn.noise_w_scale,
        ]
        inputs = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array(scales, dtype=np.float32),
        }
        if config.num_speakers > 1:
            speaker = config.default_speaker_id if syn.speaker_id is None else syn.speaker_id
            inputs["sid"] = np.array([speaker or 0], dtype=np.int64)
        return inputs

    def _front(self, ids: list[int], syn: SynthesisConfig) -> dict[str, np.ndarray]:
        names = [o.name for o in self.front.get_outputs()]
        made = self.front.run(names, self._inputs(ids, syn), self.run_options)
        return {name: np.asarray(value) for name, value in zip(names, made, strict=True)}

    def _decode(self, latent: dict[str, np.ndarray], start: int, end: int) -> np.ndarray:
        """Audio of frames [start, end), decoded with context on both sides."""
        assert self.decoder is not None
        frames = latent[self.frames_name]
        lo = max(0, start - CONTEXT_FRAMES)
        hi = min(frames.shape[2], end + CONTEXT_FRAMES)
        feed = dict(latent)
        feed[self.frames_name] = np.ascontiguousarray(frames[:, :, lo:hi])
        audio = np.asarray(self.decoder.run(None, feed, self.run_options)[0]).reshape(-1)
        hop = len(audio) // (hi - lo)
        return audio[(start - lo) * hop : (end - lo) * hop]

    def _whole(self, ids: list[int], syn: SynthesisConfig) -> np.ndarray:
        if self.decoder is None:
            return np.asarray(self.front.run(None, self._inputs(ids, syn), self.run_options)[0])
        latent = self._front(ids, syn)
        return self._decode(latent, 0, latent[self.frames_name].shape[2])

    def _spanned(
        self, ids: list[int], syn: SynthesisConfig, head_frames: int
    ) -> Iterator[tuple[bytes, bool]]:
        if head_frames <= 0 or self.decoder is None:
            audio = self._whole(ids, syn).reshape(-1)
            peak = float(np.abs(audio).max()) if audio.size else 0.0
            gain = 1.0 / peak if syn.normalize_audio and peak > 1e-8 else 1.0
            yield _pcm(audio, gain * syn.volume), True
            return
        latent = self._front(ids, syn)
        parts = spans(latent[self.frames_name].shape[2], head_frames)
        ramp = int(self.config.sample_rate * _GAIN_RAMP_S)
        gain: float | None = None if syn.normalize_audio else 1.0
        for n, (start, end) in enumerate(parts):
            audio = self._decode(latent, start, end)
            gains, gain = span_gains(audio, gain, self.reference_peak, ramp)
            yield _pcm(audio * gains, syn.volume), n == len(parts) - 1


def span_gains(
    audio: np.ndarray, gain: float | None, reference_peak: float, ramp: int
) -> tuple[float | np.ndarray, float]:
    """The gain(s) for one span of a sentence normalized as it is decoded, and the next gain.

    Piper scales each sentence so its peak is full scale, which needs the whole
    sentence. The first span (`gain` None) sets the gain from its own peak or the
    voice's typical peak, whichever is higher; later spans keep it, unless they
    would clip: then it glides down to theirs over `ramp` samples (no step).
    """
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if gain is None:
        gain = 1.0 / max(peak, reference_peak, 1e-8)
        return gain, gain
    if peak * gain <= 1.0:
        return gain, gain
    lower = 1.0 / peak
    gains = np.full(len(audio), lower, dtype=np.float32)
    n = min(len(audio), ramp)  # a span shorter than the ramp glides all along
    if n > 1:
        gains[:n] = np.linspace(gain, lower, n, dtype=np.float32)
    return gains, lower


def _pcm(audio: np.ndarray, gain: float) -> bytes:
    """Float audio times `gain` as s16le, clipped as Piper does."""
    scaled = np.clip(np.asarray(audio, dtype=np.float32) * gain, -1.0, 1.0)
    return (scaled * _MAX_WAV).astype("<i2").tobytes()
