"""Engines from the config, and an engine that cannot start leaving its messages to the other."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streamer_tts import logs
from streamer_tts.config import ConfigError, parse_config, secrets_of
from streamer_tts.speech.base import EngineConfigError, EngineError
from streamer_tts.speech.build import ENGINE_UNAVAILABLE, OptionalEngine, build_engines
from tests.fakes.azure_server import FakeAzureServer
from tests.fakes.tone_engine import ToneEngine

pytestmark = pytest.mark.timeout(30)


def config(text: str, **env: str) -> Any:
    return parse_config(text, env=env)


def test_each_engine_is_selectable_as_primary_or_fallback() -> None:
    for primary, fallback in [("espeak", "gtts"), ("gtts", "azure"), ("azure", "espeak")]:
        engines = build_engines(config(f"engine: {{primary: {primary}, fallback: {fallback}}}"))
        assert [e.name for e in engines] == [primary, fallback]
        assert all(isinstance(e, OptionalEngine) for e in engines)


def test_fallback_none_or_same_is_one_engine() -> None:
    (only,) = build_engines(config("engine: {primary: espeak, fallback: none}"))
    assert only.name == "espeak" and isinstance(only, OptionalEngine)
    (same,) = build_engines(config("engine: {primary: gtts, fallback: gtts}"))
    assert same.name == "gtts"


def test_engine_sections_have_defaults_and_forbid_typos() -> None:
    engine = config("{}").engine
    assert (engine.espeak.voice, engine.espeak.rate) == ("en-us", 175)
    assert (engine.azure.key, engine.azure.endpoint, engine.azure.voice) == (
        None,
        None,
        "en-US-AriaNeural",
    )
    assert (engine.gtts.url, engine.gtts.lang, engine.gtts.tld) == (None, "en", "com")
    with pytest.raises(ConfigError, match=r"engine\.azure\.regoin"):
        config("engine: {azure: {regoin: westeurope}}")
    with pytest.raises(ConfigError, match=r"engine\.primary"):
        config("engine: {primary: festival}")


def test_the_azure_key_is_a_secret() -> None:
    cfg = config(
        "engine: {azure: {key: '${AZURE_SPEECH_KEY}'}}", AZURE_SPEECH_KEY="s3cret-key-value"
    )
    assert "s3cret-key-value" in secrets_of(cfg)
    assert "s3cret-key-value" not in repr(cfg)


async def test_a_primary_that_cannot_start_is_unavailable_and_fails_fast() -> None:
    engines = build_engines(config("engine: {primary: azure, fallback: espeak}"))
    events: list[dict[str, Any]] = []
    remove = logs.add_listener(events.append)
    try:
        for engine in engines:
            await engine.start()
        azure, espeak = engines
        with pytest.raises(EngineError, match=r"^azure: unavailable \(no key"):
            await anext(aiter(azure.synthesize("hello")))
        assert [c async for c in espeak.synthesize("hello")]
    finally:
        remove()
        for engine in engines:
            await engine.close()
    assert [e for e in events if e["event"] == ENGINE_UNAVAILABLE] == [
        {
            "event": ENGINE_UNAVAILABLE,
            "engine": "azure",
            "error": "azure: no key (set engine.azure.key)",
        }
    ]


async def test_when_no_engine_can_start_the_last_error_is_raised() -> None:
    async with FakeAzureServer() as server:
        group: list[OptionalEngine] = []
        from streamer_tts.speech.azure import AzureEngine

        first = OptionalEngine(AzureEngine(key="", endpoint=server.endpoint), group)
        second = OptionalEngine(AzureEngine(key="bad-key-1234", endpoint=server.endpoint), group)
        await first.start()
        with pytest.raises(EngineConfigError, match=r"^azure: key rejected \(401\)$"):
            await second.start()


async def test_a_fallback_that_cannot_start_leaves_the_primary_speaking() -> None:
    group: list[OptionalEngine] = []
    primary = OptionalEngine(ToneEngine(name="primary"), group)
    from streamer_tts.speech.espeak import EspeakEngine

    fallback = OptionalEngine(EspeakEngine(voice="xx-nowhere"), group)
    await primary.start()
    await fallback.start()
    assert fallback.unavailable is not None and primary.unavailable is None
    assert [c async for c in primary.synthesize("tone 440 0.1")]


class Unreachable(ToneEngine):
    """Refuses to start `failures` times as a network outage would, then works."""

    def __init__(self, failures: int) -> None:
        super().__init__(name="cloud")
        self.failures = failures
        self.tries = 0

    async def start(self) -> None:
        self.tries += 1
        if self.tries <= self.failures:
            raise EngineError("cloud", "cannot reach the server: connection refused")


async def test_an_unreachable_engine_alone_keeps_the_daemon_up_and_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import streamer_tts.speech.build as build

    monkeypatch.setattr(build, "RETRY_FIRST_S", 0.05)
    events: list[dict[str, Any]] = []
    remove = logs.add_listener(events.append)
    inner = Unreachable(failures=3)
    engine = OptionalEngine(inner, [])
    try:
        await engine.start()  # no raise: an outage is not the streamer's fault
        with pytest.raises(EngineError, match="unavailable"):
            await anext(aiter(engine.synthesize("tone 440 0.1")))
        for _ in range(100):
            if engine.unavailable is None:
                break
            await asyncio.sleep(0.05)
        assert engine.unavailable is None and inner.tries == 4
        assert [c async for c in engine.synthesize("tone 440 0.1")]
    finally:
        remove()
        await engine.close()
    names = [e["event"] for e in events]
    assert names == [ENGINE_UNAVAILABLE, logs.ENGINE_AVAILABLE]
    assert events[0]["retry_in_s"] == 0.05


async def test_a_refused_key_alone_still_stops_the_start() -> None:
    async with FakeAzureServer() as server:
        from streamer_tts.speech.azure import AzureEngine

        only = OptionalEngine(AzureEngine(key="bad-key-1234", endpoint=server.endpoint), [])
        with pytest.raises(EngineConfigError, match=r"key rejected \(401\)"):
            await only.start()
