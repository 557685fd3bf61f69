"""Offline speech with espeak-ng: robotic, instant, no model to load.

One `espeak-ng --stdout` process per message, text on stdin (never argv, so a
message starting with `-` is not an option), WAV streamed back on stdout as it
is made. Not pyttsx3: its espeak driver initialises espeak-ng in asynchronous
retrieval mode, so the synthesis callback runs on espeak's own thread and a
voice or rate set just before a message is sometimes not yet applied when it
is spoken (seen here: one run in two spoke at the previous engine's rate), and
it prints to stdout for every file. A process per message has no shared state,
costs ~15 ms, and a cancel is a kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import struct
from typing import TYPE_CHECKING, Any, Final

from streamer_tts.speech.base import (
    Emit,
    EngineConfigError,
    EngineError,
    PcmFormat,
    StreamedSynthesis,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["EspeakEngine", "EspeakSynthesis", "plain_text"]

_LOG = logging.getLogger(__name__)
ENGINE_NAME: Final = "espeak"
_BINARY: Final = "espeak-ng"
_RATE_HZ: Final = 22050
"""espeak-ng's own rate for its bundled voices."""
_HEADER_BYTES: Final = 44
_READ_BYTES: Final = 8192
_MAX_CHUNKS_AHEAD: Final = 256
_TIMEOUT_S: Final = 5.0
"""A stalled espeak-ng (it normally runs hundreds of times faster than real time)."""
_CONTROL: Final = re.compile(r"[\[\]]+")


def plain_text(text: str) -> str:
    """Viewer text without espeak-ng's phoneme input, `[[...]]` (read as raw phonemes)."""
    return _CONTROL.sub(" ", text).strip()


def wav_header_rate(header: bytes) -> int:
    """The sample rate of a 44-byte mono s16le WAV header; ValueError for anything else."""
    if len(header) != _HEADER_BYTES or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        raise ValueError("not a WAV header")
    channels, rate = struct.unpack("<HI", header[22:28])
    bits = struct.unpack("<H", header[34:36])[0]
    if channels != 1 or bits != 16 or header[36:40] != b"data":
        raise ValueError(f"unexpected WAV layout ({channels} ch, {bits} bit)")
    return int(rate)


class EspeakEngine:
    """espeak-ng; 22050 Hz mono s16le."""

    name: str = ENGINE_NAME

    def __init__(self, *, voice: str = "en-us", rate_wpm: int = 175) -> None:
        self.voice = voice
        self.rate_wpm = rate_wpm
        self.format = PcmFormat(sample_rate=_RATE_HZ)
        self._binary: str | None = None
        self._active: set[EspeakSynthesis] = set()

    async def start(self) -> None:
        """Find espeak-ng and speak one word with the voice; EngineConfigError if not."""
        binary = shutil.which(_BINARY)
        if binary is None:
            raise EngineConfigError(
                ENGINE_NAME, f"{_BINARY} is not installed (apt-get install {_BINARY})"
            )
        self._binary = binary
        try:
            proc = await self._spawn()
            out, err = await asyncio.wait_for(proc.communicate(b"ok"), _TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            self._binary = None
            raise EngineConfigError(
                ENGINE_NAME, f"{_BINARY} cannot run ({type(exc).__name__})"
            ) from None
        if proc.returncode != 0 or len(out) <= _HEADER_BYTES:
            self._binary = None
            reason = err.decode(errors="replace").strip().splitlines()
            if reason and "voice does not exist" in reason[-1]:
                raise EngineConfigError(
                    ENGINE_NAME, f"unknown voice {self.voice!r} (see espeak-ng --voices)"
                )
            detail = reason[-1] if reason else f"exit status {proc.returncode}"
            raise EngineConfigError(ENGINE_NAME, f"{_BINARY} failed: {detail}")
        _LOG.info("espeak-ng ready: voice %s, %d wpm", self.voice, self.rate_wpm)

    def synthesize(
        self, text: str, *, voice: str | None = None, options: Mapping[str, Any] | None = None
    ) -> EspeakSynthesis:
        """`voice` is ignored, as Piper does: a tier's voice names a voice of another
        engine, and this one may be reading as the fallback. `options` are a voice
        alias's `voice` and `rate`, for this message only."""
        if self._binary is None:
            raise RuntimeError("EspeakEngine.synthesize() before start()")
        opts = options or {}
        return EspeakSynthesis(
            self, text, opts.get("voice") or self.voice, opts.get("rate") or self.rate_wpm
        )

    async def close(self) -> None:
        for synthesis in list(self._active):
            await synthesis.cancel()
        self._binary = None

    async def _spawn(
        self, voice: str | None = None, rate_wpm: int | None = None
    ) -> asyncio.subprocess.Process:
        if self._binary is None:
            raise EngineError(ENGINE_NAME, "engine closed")
        return await asyncio.create_subprocess_exec(
            self._binary,
            "--stdout",
            "-b", "1",  # UTF-8 input
            "-v", voice or self.voice,
            "-s", str(rate_wpm or self.rate_wpm),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip


class EspeakSynthesis(StreamedSynthesis):
    """One message: one espeak-ng process, its stdout streamed to the player."""

    def __init__(self, engine: EspeakEngine, text: str, voice: str, rate_wpm: int) -> None:
        super().__init__(ENGINE_NAME, max_chunks_ahead=_MAX_CHUNKS_AHEAD)
        self._engine = engine
        self._text = plain_text(text)
        self._voice = voice
        self._rate_wpm = rate_wpm

    async def _produce(self, emit: Emit) -> None:
        if not self._text:
            return
        self._engine._active.add(self)
        proc: asyncio.subprocess.Process | None = None
        try:
            try:
                proc = await self._engine._spawn(self._voice, self._rate_wpm)
            except OSError as exc:
                raise EngineError(ENGINE_NAME, f"cannot run {_BINARY}: {exc}") from None
            await self._stream(proc, emit)
        finally:
            self._engine._active.discard(self)
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), _TIMEOUT_S)

    async def _stream(self, proc: asyncio.subprocess.Process, emit: Emit) -> None:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(self._text.encode())
        proc.stdin.close()
        try:
            async with asyncio.timeout(_TIMEOUT_S):
                header = await proc.stdout.readexactly(_HEADER_BYTES)
            rate = wav_header_rate(header)
        except (asyncio.IncompleteReadError, ValueError, TimeoutError):
            await asyncio.wait_for(proc.wait(), _TIMEOUT_S)
            err = (await proc.stderr.read()).decode(errors="replace").strip()
            raise EngineError(ENGINE_NAME, err.splitlines()[-1] if err else "no audio") from None
        if rate != _RATE_HZ:
            raise EngineError(ENGINE_NAME, f"voice speaks at {rate} Hz, expected {_RATE_HZ}")
        carry = b""
        while True:
            try:
                async with asyncio.timeout(_TIMEOUT_S):
                    data = await proc.stdout.read(_READ_BYTES)
            except TimeoutError:
                raise EngineError(ENGINE_NAME, f"no more audio within {_TIMEOUT_S:g} s") from None
            if not data:
                break
            data = carry + data
            whole = len(data) - len(data) % 2
            carry = data[whole:]
            await emit(data[:whole])
        status = await asyncio.wait_for(proc.wait(), _TIMEOUT_S)
        if status != 0:
            raise EngineError(ENGINE_NAME, f"{_BINARY} exited with status {status}")
