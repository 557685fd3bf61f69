"""A deterministic engine for player tests and the sound bench.

Each message is a sine tone whose frequency is derived from the text, so a
recording at the sink tells which message sounded when, and two messages
sounding at once show up as two frequencies in one window.
"""

from __future__ import annotations

import asyncio
import math
import time

import numpy as np

from streamer_tts.audio.pcm import PcmFormat
from streamer_tts.speech.base import EngineError


def tone(freq_hz: float, seconds: float, rate: int, amplitude: float = 0.5) -> bytes:
    t = np.arange(int(seconds * rate), dtype=np.float32) / rate
    return (np.sin(2 * math.pi * freq_hz * t) * amplitude * 32767).astype("<i2").tobytes()


class ToneSynthesis:
    def __init__(self, engine: ToneEngine, text: str) -> None:
        self.engine = engine
        self.text = text
        self.first_chunk_s: float | None = None
        self._pos = 0
        self._cancelled = False
        self._t0: float | None = None
        freq, seconds = engine.parse(text)
        self._pcm = tone(freq, seconds, engine.format.sample_rate)

    def __aiter__(self) -> ToneSynthesis:
        return self

    async def __anext__(self) -> bytes:
        if self._t0 is None:
            self._t0 = time.monotonic()
            self.engine.started.append(self.text)
            await asyncio.sleep(self.engine.first_chunk_delay_s)
        if self._cancelled or self._pos >= len(self._pcm):
            raise StopAsyncIteration
        if self.text in self.engine.fail_texts:
            raise EngineError(self.engine.name, "scripted failure")
        step = self.engine.format.nbytes(int(self.engine.chunk_s * self.engine.format.sample_rate))
        chunk = self._pcm[self._pos : self._pos + step]
        self._pos += step
        if self.first_chunk_s is None:
            self.first_chunk_s = time.monotonic() - self._t0
        await asyncio.sleep(self.engine.chunk_delay_s)
        return chunk

    async def cancel(self) -> None:
        self._cancelled = True
        self.engine.cancels += 1
        if self.engine.cancel_delay_s:  # an engine slow to wind down (a busy socket)
            await asyncio.sleep(self.engine.cancel_delay_s)
            self.engine.wound_down += 1


class ToneEngine:
    """`synthesize("tone 440 1.5")` -> 1.5 s of 440 Hz; other text: 300 Hz, 0.05 s/char."""

    def __init__(
        self,
        *,
        name: str = "tone",
        sample_rate: int = 22050,
        first_chunk_delay_s: float = 0.0,
        chunk_s: float = 0.05,
        chunk_delay_s: float = 0.0,
        seconds_per_char: float = 0.05,
        cancel_delay_s: float = 0.0,
    ) -> None:
        self.name = name
        self.format = PcmFormat(sample_rate)
        self.first_chunk_delay_s = first_chunk_delay_s
        self.chunk_s = chunk_s
        self.chunk_delay_s = chunk_delay_s  # chunk_s here: synthesis at real-time pace
        self.seconds_per_char = seconds_per_char
        self.fail_texts: set[str] = set()
        self.started: list[str] = []
        self.cancels = 0
        self.cancel_delay_s = cancel_delay_s
        self.wound_down = 0

    def parse(self, text: str) -> tuple[float, float]:
        words = text.split()
        if "tone" in words:
            i = words.index("tone")
            return float(words[i + 1]), float(words[i + 2])
        return 300.0, min(10.0, self.seconds_per_char * len(text))

    async def start(self) -> None:
        return None

    def synthesize(self, text: str, *, voice: str | None = None) -> ToneSynthesis:
        return ToneSynthesis(self, text)

    async def close(self) -> None:
        return None
