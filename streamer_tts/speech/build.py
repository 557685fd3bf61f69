"""Engines from the config: the primary, then the fallback if it differs."""

from __future__ import annotations

from ..config.schema import Config
from .base import Engine

__all__ = ["build_engines"]


def build_engines(config: Config, *, sample_rate: int = 22050) -> list[Engine]:
    """`[primary, fallback]`; one Piper serves both roles when both are Piper.

    Cartesia is asked for `sample_rate` (the output's), so nothing resamples it.
    """
    from .piper import PiperEngine

    engine = config.engine
    piper: Engine | None = None

    def make_piper() -> Engine:
        nonlocal piper
        if piper is None:
            piper = PiperEngine(
                voice_path=engine.piper.voice, length_scale=engine.piper.length_scale
            )
        return piper

    engines: list[Engine] = []
    if engine.primary == "cartesia":
        from .cartesia import CartesiaEngine

        c = engine.cartesia
        assert c.api_key is not None and c.voice is not None  # checked by the schema
        engines.append(
            CartesiaEngine(
                api_key=c.api_key.get_secret_value(),
                model=c.model,
                voice=c.voice,
                websocket_url=c.websocket_url,
                base_url=c.base_url,
                sample_rate=sample_rate,
                first_chunk_timeout_s=c.timeout_seconds,
                chunk_timeout_s=c.timeout_seconds,
            )
        )
    else:
        engines.append(make_piper())
    if engine.fallback == "piper" and engine.primary != "piper":
        engines.append(make_piper())
    return engines
