"""AzureEngine (aiohttp) against the fake Azure Speech REST server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
import traceback
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamer_tts import logs
from streamer_tts.speech.azure import AzureEngine, ssml
from streamer_tts.speech.base import Engine, EngineConfigError, EngineError, PcmFormat
from tests.edge.engine_rig import FallbackRig, assert_fell_back
from tests.fakes.azure_server import FakeAzureServer, tone_pcm

pytestmark = pytest.mark.timeout(30)

TEXT = "Thanks for the follow!"
LONG = "A longer message that the fake streams in many chunks, one after the other."


def make_engine(server: FakeAzureServer, **overrides: object) -> AzureEngine:
    options: dict[str, object] = {"key": server.key, "endpoint": server.endpoint, "timeout_s": 1.0}
    options.update(overrides)
    return AzureEngine(**options)  # type: ignore[arg-type]


async def collect(synthesis: AsyncIterator[bytes], timeout_s: float = 5.0) -> bytes:
    async def drain() -> bytes:
        return b"".join([c async for c in synthesis])

    return await asyncio.wait_for(drain(), timeout_s)


@pytest.fixture
async def server() -> AsyncIterator[FakeAzureServer]:
    async with FakeAzureServer() as fake:
        yield fake


@pytest.fixture
async def engine(server: FakeAzureServer) -> AsyncIterator[AzureEngine]:
    azure = make_engine(server)
    await azure.start()
    yield azure
    await azure.close()


async def test_streams_the_exact_audio_with_the_documented_request(
    server: FakeAzureServer, engine: AzureEngine
) -> None:
    assert isinstance(engine, Engine)
    assert engine.format == PcmFormat(sample_rate=24000)
    server.chunk_delay_s = 0.02
    synthesis = engine.synthesize(LONG)
    arrivals: list[float] = []
    chunks: list[bytes] = []
    started_s = time.monotonic()
    async for chunk in synthesis:
        arrivals.append(time.monotonic() - started_s)
        chunks.append(chunk)

    assert b"".join(chunks) == tone_pcm(LONG, 24000)
    assert all(len(c) % 2 == 0 for c in chunks)  # whole samples, though the wire splits them
    assert len(chunks) > 10 and arrivals[0] < arrivals[-1] - 0.1  # streamed, not buffered
    request = server.requests[-1]
    headers = request["headers"]
    assert headers["Ocp-Apim-Subscription-Key"] == server.key
    assert headers["Content-Type"] == "application/ssml+xml"
    assert headers["X-Microsoft-OutputFormat"] == "raw-24khz-16bit-mono-pcm"
    assert headers["User-Agent"] == "streamer-tts"
    assert (request["text"], request["voice"], request["lang"]) == (
        LONG,
        "en-US-AriaNeural",
        "en-US",
    )


async def test_viewer_markup_is_read_as_text(server: FakeAzureServer, engine: AzureEngine) -> None:
    hostile = "</voice><voice name='en-GB-RyanNeural'>hi & <break time='9s'/> \"'\x00\x1b end"
    audio = await collect(engine.synthesize(hostile))

    spoken = hostile.replace("\x00", "").replace("\x1b", "")
    assert server.requests[-1]["text"] == spoken
    assert server.requests[-1]["voice"] == "en-US-AriaNeural"
    assert audio == tone_pcm(spoken, 24000)


def _xml_char(c: str) -> bool:
    n = ord(c)
    return c in "\t\n\r" or 0x20 <= n <= 0xD7FF or 0xE000 <= n <= 0xFFFD or n >= 0x10000


@given(st.text(max_size=60))
def test_any_text_makes_ssml_that_parses_back_to_the_text(text: str) -> None:
    root = ET.fromstring(ssml(text, "en-US-AriaNeural"))
    voice = root.find("voice")
    assert voice is not None and len(voice) == 0  # no element can be smuggled in
    assert voice.get("name") == "en-US-AriaNeural"
    expected = "".join(c for c in text if _xml_char(c))
    assert (voice.text or "") == expected.replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "azure: key rejected (401)"),
        (429, "azure: throttled (429): too many requests"),
        (400, "azure: bad request (400): the SSML or a header was refused"),
        (500, "azure: HTTP 500"),
    ],
)
async def test_error_statuses_fail_the_message_and_the_next_one_works(
    server: FakeAzureServer, engine: AzureEngine, status: int, expected: str
) -> None:
    server.fail_status.append(status)
    with pytest.raises(EngineError) as caught:
        await collect(engine.synthesize(TEXT))

    assert str(caught.value) == expected
    assert server.key not in "".join(traceback.format_exception(caught.value))
    assert await collect(engine.synthesize(TEXT)) == tone_pcm(TEXT, 24000)


async def test_no_answer_times_out(server: FakeAzureServer, engine: AzureEngine) -> None:
    server.stall_first_s = 3.0
    started_s = time.monotonic()
    with pytest.raises(EngineError, match=r"^azure: no answer within 1 s$"):
        await collect(engine.synthesize(TEXT))
    assert time.monotonic() - started_s < 2.5


async def test_a_stall_mid_stream_times_out(server: FakeAzureServer, engine: AzureEngine) -> None:
    server.stall_after_chunks, server.stall_s = 3, 3.0
    with pytest.raises(EngineError, match=r"^azure: no more audio within 1 s$"):
        await collect(engine.synthesize(LONG))


async def test_a_dropped_connection_mid_stream_fails_fast(
    server: FakeAzureServer, engine: AzureEngine
) -> None:
    server.drop_after_chunks = 4
    server.chunk_delay_s = 0.01
    started_s = time.monotonic()
    with pytest.raises(EngineError, match=r"^azure: connection dropped mid-message$"):
        await collect(engine.synthesize(LONG))
    assert time.monotonic() - started_s < 0.9  # not the 1 s timeout
    server.drop_after_chunks = None
    assert await collect(engine.synthesize(TEXT)) == tone_pcm(TEXT, 24000)


async def test_cancel_mid_stream_ends_at_once(server: FakeAzureServer, engine: AzureEngine) -> None:
    server.chunk_delay_s = 0.05
    synthesis = engine.synthesize(LONG)
    first = await anext(synthesis)
    started_s = time.monotonic()
    await synthesis.cancel()
    assert time.monotonic() - started_s < 1.0  # the rest of the stream takes ~2 s
    assert first and [c async for c in synthesis] == []
    assert engine._active == set()


async def test_bad_key_at_start_is_one_line_without_the_key(server: FakeAzureServer) -> None:
    secret = "0123456789abcdef-WRONG"
    engine = make_engine(server, key=secret)
    with pytest.raises(EngineConfigError) as caught:
        await engine.start()
    assert str(caught.value) == "azure: key rejected (401)"
    assert secret not in "".join(traceback.format_exception(caught.value))
    assert server.syntheses == 0


async def test_no_key_and_unknown_voice_are_config_errors(server: FakeAzureServer) -> None:
    with pytest.raises(EngineConfigError, match=r"^azure: no key \(set engine.azure.key\)$"):
        await make_engine(server, key="").start()
    with pytest.raises(EngineConfigError, match=r"^azure: unknown voice 'en-US-Nobody'$"):
        await make_engine(server, voice="en-US-Nobody").start()


async def test_unreachable_is_an_engine_error_not_config() -> None:
    engine = AzureEngine(key="k", endpoint="http://127.0.0.1:9", timeout_s=1.0)
    with pytest.raises(EngineError, match=r"cannot reach http://127\.0\.0\.1:9") as caught:
        await engine.start()
    assert not isinstance(caught.value, EngineConfigError)


async def test_region_makes_the_documented_url() -> None:
    assert AzureEngine(key="k", region="westeurope").base_url == (
        "https://westeurope.tts.speech.microsoft.com"
    )


@pytest.mark.parametrize("fault", ["429", "drop", "stall"])
async def test_a_failing_message_is_read_by_the_fallback(
    tmp_path: Path, server: FakeAzureServer, fault: str
) -> None:
    async with FallbackRig(tmp_path / "out.wav", make_engine(server)) as rig:
        await rig.say("ok", "hello chat")
        if fault == "429":
            server.fail_status.append(429)
        elif fault == "drop":
            server.drop_after_chunks = 2
        else:
            server.stall_after_chunks, server.stall_s = 2, 3.0
        await rig.say("bad", "tone 440 0.3 for a while")
    assert ("tts.started", "azure") in rig.trail("ok")
    assert_fell_back(rig, "bad", "azure")


async def test_a_bad_key_leaves_the_engine_unavailable_and_the_fallback_reads(
    tmp_path: Path, server: FakeAzureServer
) -> None:
    from streamer_tts.speech.build import ENGINE_UNAVAILABLE, OptionalEngine
    from tests.fakes.tone_engine import ToneEngine

    group: list[OptionalEngine] = []
    azure = OptionalEngine(make_engine(server, key="wrong-key-value"), group)
    OptionalEngine(ToneEngine(name="spare"), group)
    events: list[dict[str, object]] = []
    remove = logs.add_listener(events.append)
    try:
        async with FallbackRig(tmp_path / "out.wav", azure) as rig:
            await rig.say("m1", "tone 440 0.3")
    finally:
        remove()
    unavailable = [e for e in events if e["event"] == ENGINE_UNAVAILABLE]
    assert unavailable == [
        {"event": ENGINE_UNAVAILABLE, "engine": "azure", "error": "azure: key rejected (401)"}
    ]
    assert_fell_back(rig, "m1", "azure")
    assert server.syntheses == 0
