"""Engines from the config: the primary, then the fallback if it differs.

Each engine is optional at run time: one that has no key or cannot start is
logged once (`engine.unavailable`) and then fails each message at once, so the
player hands it to the next engine (or fails it for good, to be replayed) and
nothing else stops. An engine that could not be *reached* (a network outage,
not a bad key) is tried again in the background with a backoff capped at
`RETRY_MAX_S` and speaks again once it answers (`engine.available`). Only when
every engine was refused for a configuration reason (bad key, unknown voice,
missing model) does `start()` raise: that is the streamer's to fix (exit 2).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final

from .. import logs
from .base import Engine, EngineConfigError, EngineError, PcmFormat, Synthesis

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    from ..config.schema import Config
    from ..config.schema import Engine as EngineSection

__all__ = ["ENGINE_UNAVAILABLE", "OptionalEngine", "build_engines", "make_engine"]

_LOG = logging.getLogger(__name__)
ENGINE_UNAVAILABLE: Final = logs.ENGINE_UNAVAILABLE  # kept here too: tests import it
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
"""An unreachable engine is tried again after 1, 2, 4 ... s, at most this far apart."""


class _Refused:
    """The synthesis of an unavailable engine: fails at the first chunk."""

    first_chunk_s: float | None = None

    def __init__(self, error: EngineError) -> None:
        self._error = error

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        raise self._error

    async def cancel(self) -> None:
        return None


class OptionalEngine:
    """Wraps an engine that may fail to start; the group knows when none could."""

    def __init__(
        self, inner: Engine, group: list[OptionalEngine], *, required: bool = True
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.unavailable: EngineError | None = None
        self.required = required  # False: only voice aliases use it, never fatal
        self._group = group
        self._started = False
        self._retry: asyncio.Task[None] | None = None
        group.append(self)

    @property
    def format(self) -> PcmFormat:
        return self.inner.format

    async def start(self) -> None:
        try:
            await self.inner.start()
        except EngineError as error:
            self.unavailable = error
            self._started = True
            required = [e for e in self._group if e.required]
            if self.required and all(_refused_for_good(e) for e in required):
                raise  # nothing left to speak with, and waiting will not help: exit 2
            transient = not isinstance(error, EngineConfigError)
            fields: dict[str, object] = {"engine": self.name, "error": str(error)}
            if transient:
                fields["retry_in_s"] = RETRY_FIRST_S
                self._retry = asyncio.create_task(self._keep_trying(), name=f"retry-{self.name}")
            logs.emit(ENGINE_UNAVAILABLE, **fields)
            return
        self._started = True

    async def _keep_trying(self) -> None:
        """Start the engine again until it answers (a network outage passes)."""
        delay_s = RETRY_FIRST_S
        while True:
            await asyncio.sleep(delay_s)
            try:
                await self.inner.start()
            except EngineConfigError as error:  # it answered, and refused: stop asking
                self.unavailable = error
                logs.emit(ENGINE_UNAVAILABLE, engine=self.name, error=str(error))
                return
            except EngineError as error:
                self.unavailable = error
                delay_s = min(delay_s * 2, RETRY_MAX_S)
                _LOG.debug("%s still unreachable (%s); next try in %g s", self.name, error, delay_s)
            else:
                self.unavailable = None
                logs.emit(logs.ENGINE_AVAILABLE, engine=self.name)
                return

    def synthesize(
        self, text: str, *, voice: str | None = None, options: Mapping[str, Any] | None = None
    ) -> Synthesis:
        if self.unavailable is not None:
            return _Refused(EngineError(self.name, f"unavailable ({self.unavailable.detail})"))
        if options:  # a voice alias's parameters (engines that take them)
            inner: Any = self.inner
            return inner.synthesize(text, voice=voice, options=options)
        return self.inner.synthesize(text, voice=voice)

    async def close(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
        await self.inner.close()


def _refused_for_good(engine: OptionalEngine) -> bool:
    """Started and refused for a configuration reason (not merely unreachable)."""
    return engine._started and isinstance(engine.unavailable, EngineConfigError)


def make_engine(name: str, section: EngineSection, *, sample_rate: int) -> Engine:
    """One engine by its config name (imports only what that engine needs)."""
    if name == "piper":
        from .piper import PiperEngine

        return PiperEngine(voice_path=section.piper.voice, length_scale=section.piper.length_scale)
    if name == "cartesia":
        from .cartesia import CartesiaEngine

        c = section.cartesia
        assert c.api_key is not None and c.voice is not None  # checked by the schema
        return CartesiaEngine(
            api_key=c.api_key.get_secret_value(),
            model=c.model,
            voice=c.voice,
            websocket_url=c.websocket_url,
            base_url=c.base_url,
            sample_rate=sample_rate,
            first_chunk_timeout_s=c.timeout_seconds,
            chunk_timeout_s=c.timeout_seconds,
        )
    if name == "espeak":
        from .espeak import EspeakEngine

        return EspeakEngine(voice=section.espeak.voice, rate_wpm=section.espeak.rate)
    if name == "azure":
        from .azure import AzureEngine

        a = section.azure
        return AzureEngine(
            key=a.key.get_secret_value() if a.key is not None else "",
            region=a.region,
            endpoint=a.endpoint,
            voice=a.voice,
            timeout_s=a.timeout_seconds,
        )
    if name == "gtts":
        from .gtts import GttsEngine

        g = section.gtts
        return GttsEngine(url=g.url, lang=g.lang, tld=g.tld, timeout_s=g.timeout_seconds)
    raise ValueError(f"unknown engine {name!r}")


def build_engines(config: Config, *, sample_rate: int = 22050) -> list[Engine]:
    """`[primary, fallback]`, or `[primary]` when the fallback is `none` or the same.

    Cartesia is asked for `sample_rate` (the output's), so nothing resamples it.
    Each engine is optional: one that cannot start leaves its messages to the
    other (or, alone, fails them until it can: they stay replayable).
    """
    section = config.engine
    names = [section.primary]
    if section.fallback not in ("none", section.primary):
        names.append(section.fallback)
    engines = [make_engine(name, section, sample_rate=sample_rate) for name in names]
    group: list[OptionalEngine] = []
    return [OptionalEngine(engine, group) for engine in engines]
