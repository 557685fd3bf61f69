"""Voice aliases over the engines (`voices:`): one engine instance per engine.

An alias is a view of a shared engine with its own per-call parameters
(`length_scale`, `voice`, `rate` ...) and a gain: `joe` and `joe_slow` are
both the one loaded Piper model, each message made with its own
SynthesisConfig, so no model is loaded twice and each engine keeps one
owner. Engines that only aliases use are optional: one that has no key or
cannot start is logged once (`voice.unavailable`, per alias) and its
messages go to the fallback; nothing else stops.

`VoiceBook.chain(message)` gives the player the engines to try for a message:
the alias's voice (or, for `robot: hi joe: hello`, the parts one after
another as one synthesis), then the fallback and the primary.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final

from .. import logs
from ..core.voices import spoken_parts
from ..speech.base import Engine, EngineConfigError, EngineError, PcmFormat, Synthesis
from ..speech.build import OptionalEngine, make_engine
from .pcm import Resampler, apply_volume

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping, Sequence

    from ..config.schema import Config, VoiceAlias
    from ..core.decisions import Message

__all__ = ["VOICE_UNAVAILABLE", "AliasVoice", "InlineVoice", "VoiceBook", "build_voices"]

VOICE_UNAVAILABLE: Final = "voice.unavailable"  # voice, engine, error
_PARAMS = ("length_scale", "noise_scale", "speaker", "voice", "rate", "speed", "lang", "tld")


class AliasVoice:
    """One alias: a shared engine, this alias's parameters and gain. Starting and
    closing the engine is its owner's (the player's or the book's) business."""

    def __init__(
        self, alias: str, engine: Engine, options: Mapping[str, Any], gain_db: float = 0.0
    ) -> None:
        self.alias = alias
        self.engine = engine
        self.name = engine.name
        self.options = {k: v for k, v in options.items() if v is not None}
        self.gain = 10 ** (gain_db / 20)

    @property
    def format(self) -> PcmFormat:
        return self.engine.format

    @property
    def unavailable(self) -> EngineError | None:
        return getattr(self.engine, "unavailable", None)

    async def start(self) -> None:
        return None

    def synthesize(self, text: str, *, voice: str | None = None, gained: bool = True) -> Synthesis:
        """`voice` (the message's alias) is not the engine's: it is never passed on.
        `gained=False`: the caller applies `gain` (the player, after levelling)."""
        engine: Any = self.engine
        synthesis = (
            engine.synthesize(text, options=self.options)
            if self.options
            else engine.synthesize(text)
        )
        return synthesis if self.gain == 1 or not gained else _Gained(synthesis, self.gain)

    async def close(self) -> None:
        return None


class _Gained:
    """A synthesis with the alias's gain applied to each chunk."""

    def __init__(self, inner: Synthesis, gain: float) -> None:
        self._inner = inner
        self._gain = gain
        self.first_chunk_s: float | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        chunk = await anext(self._inner)
        self.first_chunk_s = self._inner.first_chunk_s
        return apply_volume(chunk, self._gain)

    async def cancel(self) -> None:
        await self._inner.cancel()


class InlineVoice:
    """`robot: hi joe: hello`: the parts in their voices, one after another, as
    one message (a skip cuts all). Later parts are resampled to the first's format."""

    def __init__(self, parts: Sequence[tuple[AliasVoice, str]]) -> None:
        self.parts = list(parts)
        self.name = "+".join(dict.fromkeys(v.name for v, _ in self.parts))
        self.format = self.parts[0][0].format

    async def start(self) -> None:
        return None

    def synthesize(self, text: str, *, voice: str | None = None) -> Synthesis:
        return _Sequence(self.parts, self.format)

    async def close(self) -> None:
        return None


class _Sequence:
    def __init__(self, parts: list[tuple[AliasVoice, str]], fmt: PcmFormat) -> None:
        self._parts = iter(parts)
        self._format = fmt
        self._current: Synthesis | None = None
        self._resampler: Resampler | None = None
        self._cancelled = False
        self.first_chunk_s: float | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        while not self._cancelled:
            if self._current is None:
                part = next(self._parts, None)
                if part is None:
                    raise StopAsyncIteration
                voice, text = part
                self._current = voice.synthesize(text)
                self._resampler = Resampler(voice.format, self._format)
            assert self._resampler is not None
            try:
                chunk = await anext(self._current)
            except StopAsyncIteration:
                tail = self._resampler.process(b"", last=True)
                self._current = None
                if tail:
                    return tail
                continue
            if self.first_chunk_s is None:
                self.first_chunk_s = self._current.first_chunk_s
            pcm = self._resampler.process(chunk)
            if pcm:
                return pcm
        raise StopAsyncIteration

    async def cancel(self) -> None:
        self._cancelled = True
        if self._current is not None:
            await self._current.cancel()


class _Missing:
    """An engine only aliases name, whose config lacks what it needs (a key)."""

    def __init__(self, name: str, detail: str) -> None:
        self.name = name
        self.format = PcmFormat(22050)
        self._detail = detail

    async def start(self) -> None:
        raise EngineConfigError(self.name, self._detail)

    def synthesize(self, text: str, *, voice: str | None = None) -> Synthesis:
        raise EngineError(self.name, self._detail)

    async def close(self) -> None:
        return None


class VoiceBook:
    """The aliases, the engines only they use (started and closed here), and the
    order of the fallbacks."""

    def __init__(
        self,
        aliases: Mapping[str, AliasVoice],
        base: Sequence[Engine],
        extra: Sequence[Engine],
        fallback_first: Sequence[Engine],
    ) -> None:
        self.aliases = dict(aliases)
        self.extra = list(extra)
        self._base = list(base)
        self._fallbacks = [AliasVoice("", e, {}) for e in fallback_first]

    async def start(self) -> None:
        for engine in self.extra:
            await engine.start()  # optional: never raises, logs engine.unavailable
        for alias, voice in sorted(self.aliases.items()):
            error = voice.unavailable
            if error is not None:
                logs.emit(VOICE_UNAVAILABLE, voice=alias, engine=voice.name, error=error.detail)

    def unavailable(self) -> set[str]:
        return {a for a, v in self.aliases.items() if v.unavailable is not None}

    async def close(self) -> None:
        for engine in self.extra:
            try:
                await asyncio.wait_for(engine.close(), 3.0)
            except Exception:  # closing: nothing left to do about it
                continue

    def chain(self, message: Message) -> list[Any] | None:
        """The engines to try for `message`, best first; None: it names no voice,
        so the player's own engines read it as before. A name that is no alias
        (one added by a reload, which needs a restart) is never handed to an
        engine as its own voice name: the primary and the fallback read it."""
        own = self.aliases.get(message.voice or "")
        parts = spoken_parts(message)
        first: AliasVoice | InlineVoice
        if parts:
            plain = own or self._fallbacks[-1]
            first = InlineVoice([(self.aliases.get(a or "", plain), t) for a, t in parts])
            if len(first.parts) == 1:
                first = first.parts[0][0]  # one part: no label was usable after all
        elif own is not None:
            first = own
        elif message.voice:
            return list(reversed(self._fallbacks))
        else:
            return None
        rest = [f for f in self._fallbacks if own is None or f.name != own.name]
        return [first, *rest]


def build_voices(config: Config, base: Sequence[Engine], *, sample_rate: int) -> VoiceBook | None:
    """The book for `config.voices`, sharing `base` (the player's engines) by
    name; None without a `voices:` section."""
    section = config.voices
    if section is None:
        return None
    by_name: dict[str, Any] = {e.name: e for e in base}  # Engine or OptionalEngine
    extra: list[Any] = []
    for alias in section.aliases.values():
        name = alias.engine
        if name in by_name:
            continue
        engine = OptionalEngine(_make(name, config, sample_rate), [], required=False)
        by_name[name] = engine
        extra.append(engine)
    aliases = {name: _alias(name, a, by_name[a.engine]) for name, a in section.aliases.items()}
    fallback_first = list(reversed(base))  # the fallback, then the primary
    return VoiceBook(aliases, base, extra, fallback_first)


def _make(name: str, config: Config, sample_rate: int) -> Engine:
    c = config.engine.cartesia
    if name == "cartesia" and (c.api_key is None or c.voice is None):
        key = "api_key" if c.api_key is None else "voice"
        return _Missing(name, f"engine.cartesia.{key} is not set")
    return make_engine(name, config.engine, sample_rate=sample_rate)


def _alias(name: str, alias: VoiceAlias, engine: Engine) -> AliasVoice:
    options = {k: getattr(alias, k) for k in _PARAMS}
    return AliasVoice(name, engine, options, alias.gain_db)
