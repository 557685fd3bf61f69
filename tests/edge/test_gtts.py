"""GttsEngine: the real gTTS 2.5.4 and miniaudio against the fake batchexecute server."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from streamer_tts.speech.base import Engine, EngineConfigError, EngineError, PcmFormat
from streamer_tts.speech.gtts import GttsEngine, decode_mp3
from tests.edge.engine_rig import FallbackRig, assert_fell_back
from tests.fakes.gtts_server import MP3, FakeGttsServer, mp3_for

pytestmark = pytest.mark.timeout(30)

TEXT = "Thanks for the follow!"


def make_engine(server: FakeGttsServer, **overrides: object) -> GttsEngine:
    options: dict[str, object] = {"url": server.url, "timeout_s": 1.0}
    options.update(overrides)
    return GttsEngine(**options)  # type: ignore[arg-type]


async def collect(synthesis: AsyncIterator[bytes], timeout_s: float = 10.0) -> list[bytes]:
    async def drain() -> list[bytes]:
        return [c async for c in synthesis]

    return await asyncio.wait_for(drain(), timeout_s)


def dominant_hz(pcm: bytes, rate: int = 24000) -> float:
    samples = np.frombuffer(pcm, "<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


@pytest.fixture
async def server() -> AsyncIterator[FakeGttsServer]:
    async with FakeGttsServer() as fake:
        yield fake


@pytest.fixture
async def engine(server: FakeGttsServer) -> AsyncIterator[GttsEngine]:
    gtts = make_engine(server)
    await gtts.start()
    yield gtts
    await gtts.close()


async def test_speaks_the_decoded_mp3_and_sends_gtts_rpc(
    server: FakeGttsServer, engine: GttsEngine
) -> None:
    assert isinstance(engine, Engine)
    assert engine.format == PcmFormat(sample_rate=24000)

    chunks = await collect(engine.synthesize(TEXT))

    pcm = b"".join(chunks)
    assert pcm == decode_mp3(mp3_for(TEXT))
    assert abs(len(pcm) / 2 / 24000 - 2 * 0.575) < 0.05  # two copies of the 0.5 s tone
    assert abs(dominant_hz(pcm) - 440) < 5
    (part,) = server.parts
    assert (part["text"], part["lang"]) == (TEXT, "en")
    assert part["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")


async def test_long_text_streams_part_by_part(server: FakeGttsServer, engine: GttsEngine) -> None:
    text = " ".join(f"Sentence number {n} is here, and it goes on." for n in range(8))
    synthesis = engine.synthesize(text)
    first = await anext(synthesis)
    parts_when_first_arrived = len(server.parts)
    rest = await collect(synthesis)

    assert len(server.parts) >= 3  # gTTS cut it into parts of at most 100 characters
    assert parts_when_first_arrived < len(
        server.parts
    )  # the first played before the last was asked
    assert [first, *rest] == [decode_mp3(mp3_for(p["text"])) for p in server.parts]


@pytest.mark.parametrize("status", [400, 403, 429, 500])
async def test_error_statuses_fail_the_message_and_the_next_works(
    server: FakeGttsServer, engine: GttsEngine, status: int
) -> None:
    server.fail_status.append(status)
    with pytest.raises(EngineError, match=rf"^gtts: {status} \(.*\) from TTS API$"):
        await collect(engine.synthesize(TEXT))
    assert b"".join(await collect(engine.synthesize(TEXT))) == decode_mp3(mp3_for(TEXT))


async def test_an_answer_without_audio_is_an_engine_error(
    server: FakeGttsServer, engine: GttsEngine
) -> None:
    server.no_audio_next = True
    with pytest.raises(EngineError, match=r"^gtts: 200 \(OK\) from TTS API$"):
        await collect(engine.synthesize(TEXT))


async def test_a_slow_answer_times_out(server: FakeGttsServer, engine: GttsEngine) -> None:
    server.stall_s = 3.0
    started_s = time.monotonic()
    with pytest.raises(EngineError, match=r"^gtts: no answer in time$"):
        await collect(engine.synthesize(TEXT))
    assert time.monotonic() - started_s < 2.5


async def test_a_stall_mid_answer_times_out(server: FakeGttsServer, engine: GttsEngine) -> None:
    server.stall_mid_s = 3.0
    with pytest.raises(EngineError, match=r"^gtts: (no answer in time|connection failed .*)$"):
        await collect(engine.synthesize(TEXT))


async def test_a_dropped_connection_mid_answer_fails(
    server: FakeGttsServer, engine: GttsEngine
) -> None:
    server.drop_mid = True
    started_s = time.monotonic()
    with pytest.raises(EngineError, match=r"^gtts: connection failed \(\w+\)$"):
        await collect(engine.synthesize(TEXT))
    assert time.monotonic() - started_s < 0.9
    server.drop_mid = False
    assert b"".join(await collect(engine.synthesize(TEXT))) == decode_mp3(mp3_for(TEXT))


async def test_unreachable_is_an_engine_error() -> None:
    engine = GttsEngine(url="http://127.0.0.1:9", timeout_s=1.0)
    await engine.start()
    try:
        with pytest.raises(EngineError, match=r"^gtts: connection failed"):
            await collect(engine.synthesize(TEXT))
    finally:
        await engine.close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
async def test_tls_is_verified_unlike_plain_gtts(tmp_path: Path) -> None:
    """gTTS 2.5.4 itself sends with verify=False; a self-signed server must be refused."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    async with FakeGttsServer(ssl_context=context) as server:
        engine = make_engine(server)
        await engine.start()
        try:
            with pytest.raises(EngineError, match=r"^gtts: connection failed \(SSLError\)$"):
                await collect(engine.synthesize(TEXT))
        finally:
            await engine.close()
    assert server.parts == []  # nothing was sent to an unverified peer


async def test_unknown_language_is_a_config_error() -> None:
    with pytest.raises(EngineConfigError, match=r"^gtts: unsupported language 'xx-nowhere'$"):
        await GttsEngine(lang="xx-nowhere").start()


async def test_without_url_gtts_builds_google_s_own_address() -> None:
    from streamer_tts.speech.gtts import _make_tts

    google = _make_tts("hi", lang="en", tld="co.uk", url=None, timeout_s=1)._prepare_requests()
    fake = _make_tts(
        "hi", lang="en", tld="co.uk", url="http://h:1/", timeout_s=1
    )._prepare_requests()
    path = "/_/TranslateWebserverUi/data/batchexecute"
    assert [r.url for r in google] == [f"https://translate.google.co.uk{path}"]
    assert [r.url for r in fake] == [f"http://h:1{path}"]
    assert google[0].body == fake[0].body


async def test_the_fixture_is_a_real_mp3() -> None:
    pcm = decode_mp3(MP3)
    assert 0.5 <= len(pcm) / 2 / 24000 < 0.6
    assert np.abs(np.frombuffer(pcm, "<i2")).max() > 10000


@pytest.mark.parametrize("fault", ["500", "drop", "stall"])
async def test_a_failing_message_is_read_by_the_fallback(
    tmp_path: Path, server: FakeGttsServer, fault: str
) -> None:
    gtts = make_engine(server)
    async with FallbackRig(tmp_path / "out.wav", gtts) as rig:
        await rig.say("ok", "hello chat")
        if fault == "500":
            server.fail_status.append(500)
        elif fault == "drop":
            server.drop_mid = True
        else:
            server.stall_s = 3.0
        await rig.say("bad", "tone 440 0.3")
    assert ("tts.started", "gtts") in rig.trail("ok")
    assert_fell_back(rig, "bad", "gtts")
