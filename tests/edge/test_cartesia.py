"""CartesiaEngine with the real cartesia 4.2.0 SDK against the fake server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import AsyncIterator

import pytest

from streamer_tts.speech.base import Engine, EngineConfigError, EngineError, Synthesis
from streamer_tts.speech.cartesia import CartesiaEngine, split_whole_samples
from tests.fakes.cartesia_server import API_VERSION, FakeCartesiaServer, tone_pcm

pytestmark = pytest.mark.timeout(20)

RATE_HZ = 22050
TEXT = "Thanks for the follow!"
LONG_TEXT = "A much longer message that keeps the fake busy for a while, chunk after chunk."


def make_engine(server: FakeCartesiaServer, **overrides: object) -> CartesiaEngine:
    options: dict[str, object] = {
        "api_key": server.api_key,
        "model": "sonic-3",
        "voice": next(iter(server.voices)),
        "websocket_url": server.websocket_url,
        "base_url": server.base_url,
        "sample_rate": RATE_HZ,
        "first_chunk_timeout_s": 2.0,
        "chunk_timeout_s": 2.0,
    }
    options.update(overrides)
    return CartesiaEngine(**options)  # type: ignore[arg-type]


async def collect(synthesis: Synthesis, timeout_s: float = 5.0) -> bytes:
    async def drain() -> bytes:
        return b"".join([chunk async for chunk in synthesis])

    return await asyncio.wait_for(drain(), timeout_s)


@pytest.fixture
async def server() -> AsyncIterator[FakeCartesiaServer]:
    async with FakeCartesiaServer() as fake:
        yield fake


@pytest.fixture
async def engine(server: FakeCartesiaServer) -> AsyncIterator[CartesiaEngine]:
    cartesia = make_engine(server)
    await cartesia.start()
    yield cartesia
    await cartesia.close()


async def test_happy_path_streams_the_exact_audio(
    server: FakeCartesiaServer, engine: CartesiaEngine
) -> None:
    assert isinstance(engine, Engine)
    synthesis = engine.synthesize(TEXT)
    assert isinstance(synthesis, Synthesis)

    audio = await collect(synthesis)

    assert audio == tone_pcm(TEXT, RATE_HZ)
    assert synthesis.first_chunk_s is not None and 0 < synthesis.first_chunk_s < 1.0
    request = server.requests[-1]
    assert request["transcript"] == TEXT
    assert request["continue"] is False
    assert request["model_id"] == "sonic-3"
    assert request["voice"] == {"mode": "id", "id": engine.voice}
    assert request["output_format"] == {
        "container": "raw",
        "encoding": "pcm_s16le",
        "sample_rate": RATE_HZ,
    }
    assert server.versions_seen and set(server.versions_seen) == {API_VERSION}


async def test_messages_share_one_socket_one_context_each(
    server: FakeCartesiaServer, engine: CartesiaEngine
) -> None:
    first = await collect(engine.synthesize("one"))
    second = await collect(engine.synthesize("two two"))

    assert (first, second) == (tone_pcm("one", RATE_HZ), tone_pcm("two two", RATE_HZ))
    assert server.connections == 1
    assert server.contexts == 2


async def test_cancel_discards_late_chunks_and_the_next_message_works(
    server: FakeCartesiaServer, engine: CartesiaEngine
) -> None:
    server.chunk_delay_s = 0.02
    synthesis = engine.synthesize(LONG_TEXT)
    received = [await anext(synthesis), await anext(synthesis)]

    await synthesis.cancel()
    await synthesis.cancel()  # idempotent

    assert [chunk async for chunk in synthesis] == []
    await asyncio.sleep(0.2)  # let the chunks "already generating" arrive
    assert server.cancels == 1
    assert server.late_chunks_sent > 0
    assert len(b"".join(received)) < len(tone_pcm(LONG_TEXT, RATE_HZ))
    server.chunk_delay_s = 0.0
    assert await collect(engine.synthesize(TEXT)) == tone_pcm(TEXT, RATE_HZ)
    assert server.connections == 1


async def test_cancel_wakes_a_consumer_waiting_for_the_first_chunk(
    server: FakeCartesiaServer, engine: CartesiaEngine
) -> None:
    server.slow_first_chunk_s = 3.0
    synthesis = engine.synthesize(TEXT)
    consumer = asyncio.create_task(collect(synthesis))
    await asyncio.sleep(0.1)

    started_s = time.monotonic()
    await synthesis.cancel()

    # well before the first chunk would come, with room for a loaded machine
    assert await asyncio.wait_for(consumer, 1.5) == b""
    assert time.monotonic() - started_s < 1.5
    assert synthesis.first_chunk_s is None


async def test_error_event_raises_engine_error(
    server: FakeCartesiaServer, engine: CartesiaEngine
) -> None:
    server.fail_next(1, status_code=500)

    with pytest.raises(EngineError, match="fake failure") as caught:
        await collect(engine.synthesize(TEXT))

    assert caught.value.engine == "cartesia"
    assert not isinstance(caught.value, EngineConfigError)
    assert await collect(engine.synthesize(TEXT)) == tone_pcm(TEXT, RATE_HZ)


async def test_unknown_voice_per_message_is_an_engine_error(engine: CartesiaEngine) -> None:
    with pytest.raises(EngineError, match="voice_not_found"):
        await collect(engine.synthesize(TEXT, voice="no-such-voice"))


async def test_error_without_context_id_times_out_into_engine_error(
    server: FakeCartesiaServer,
) -> None:
    engine = make_engine(server, first_chunk_timeout_s=0.3)
    await engine.start()
    try:
        server.fail_next(1, error_without_context_id=True)
        started_s = time.monotonic()

        with pytest.raises(EngineError, match=r"no first audio within 0.3 s"):
            await collect(engine.synthesize(TEXT))

        assert 0.25 < time.monotonic() - started_s < 1.5
        assert await collect(engine.synthesize(TEXT)) == tone_pcm(TEXT, RATE_HZ)
    finally:
        await engine.close()


async def test_slow_chunks_time_out_into_engine_error(server: FakeCartesiaServer) -> None:
    engine = make_engine(server, first_chunk_timeout_s=2.0, chunk_timeout_s=0.1)
    await engine.start()
    try:
        server.chunk_delay_s = 0.3
        with pytest.raises(EngineError, match=r"no more audio within 0.1 s"):
            await collect(engine.synthesize(LONG_TEXT))
    finally:
        await engine.close()


async def test_dropped_socket_fails_fast_and_the_next_message_reconnects(
    server: FakeCartesiaServer, engine: CartesiaEngine
) -> None:
    server.chunk_delay_s = 0.002
    server.drop_socket_mid_message = True
    started_s = time.monotonic()

    with pytest.raises(EngineError, match="connection dropped"):
        await collect(engine.synthesize(LONG_TEXT))

    # The socket watcher reports at once, well before the 2 s chunk timeout.
    assert time.monotonic() - started_s < 1.5
    assert server.drops == 1
    server.chunk_delay_s = 0.0
    assert await collect(engine.synthesize(TEXT)) == tone_pcm(TEXT, RATE_HZ)
    assert server.connections == 2


async def test_idle_close_by_server_reconnects_transparently(
    server: FakeCartesiaServer, engine: CartesiaEngine
) -> None:
    server.close_idle_after_s = 0.2
    assert await collect(engine.synthesize(TEXT)) == tone_pcm(TEXT, RATE_HZ)
    await asyncio.sleep(0.5)
    assert server.idle_closes == 1

    assert await collect(engine.synthesize(TEXT)) == tone_pcm(TEXT, RATE_HZ)
    assert server.connections == 2


async def test_a_long_idle_socket_is_replaced_before_the_server_closes_it(
    server: FakeCartesiaServer, engine: CartesiaEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamer_tts.speech.cartesia as cartesia_module

    assert await collect(engine.synthesize(TEXT)) == tone_pcm(TEXT, RATE_HZ)
    monkeypatch.setattr(cartesia_module, "_IDLE_REOPEN_S", 0.05)
    await asyncio.sleep(0.1)

    assert await collect(engine.synthesize(TEXT)) == tone_pcm(TEXT, RATE_HZ)
    assert server.connections == 2
    assert server.idle_closes == 0


async def test_send_on_a_socket_closed_unnoticed_retries_on_a_fresh_one(
    server: FakeCartesiaServer, engine: CartesiaEngine
) -> None:
    link = engine._link
    assert link is not None and link.watcher is not None
    link.watcher.cancel()  # blind the watcher: only the failed send can tell
    await link.socket.close()

    assert await collect(engine.synthesize(TEXT)) == tone_pcm(TEXT, RATE_HZ)
    assert server.connections == 2


async def test_bad_key_is_a_config_error_at_start_without_the_key(
    server: FakeCartesiaServer,
) -> None:
    secret = "sk_car_WRONG_secret_value"
    engine = make_engine(server, api_key=secret)

    with pytest.raises(EngineConfigError) as caught:
        await engine.start()
    await engine.close()

    assert str(caught.value) == "cartesia: API key rejected (401)"
    assert secret not in "".join(traceback.format_exception(caught.value))


async def test_key_revoked_later_fails_the_websocket_handshake_as_config_error(
    server: FakeCartesiaServer, engine: CartesiaEngine
) -> None:
    secret = server.api_key
    server.api_keys.clear()
    server.drop_socket_mid_message = True
    with pytest.raises(EngineError):
        await collect(engine.synthesize(LONG_TEXT))

    with pytest.raises(EngineConfigError) as caught:
        await collect(engine.synthesize(TEXT))

    assert str(caught.value) == "cartesia: API key rejected (401)"
    assert server.rejected_handshakes == 1
    assert secret not in "".join(traceback.format_exception(caught.value))


async def test_unknown_voice_is_a_config_error_at_start(server: FakeCartesiaServer) -> None:
    engine = make_engine(server, voice="00000000-dead-beef-0000-000000000000")

    with pytest.raises(EngineConfigError, match="unknown voice '00000000-dead-beef"):
        await engine.start()
    await engine.close()

    assert server.connections == 0


async def test_unreachable_service_is_an_engine_error_not_config(
    server: FakeCartesiaServer,
) -> None:
    engine = make_engine(server, base_url="http://127.0.0.1:9", websocket_url="ws://127.0.0.1:9")

    with pytest.raises(EngineError, match="cannot reach") as caught:
        await engine.start()
    await engine.close()

    assert not isinstance(caught.value, EngineConfigError)


async def test_close_ends_a_message_in_flight(server: FakeCartesiaServer) -> None:
    engine = make_engine(server)
    await engine.start()
    server.chunk_delay_s = 0.02
    synthesis = engine.synthesize(LONG_TEXT)
    await anext(synthesis)

    await asyncio.wait_for(engine.close(), 3.0)

    assert await collect(synthesis, timeout_s=1.0) == b""
    await asyncio.sleep(0.05)
    assert server.open_sockets == 0


def test_split_whole_samples_carries_an_odd_byte() -> None:
    assert split_whole_samples(b"\x01\x02\x03", 2) == (b"\x01\x02", b"\x03")
    assert split_whole_samples(b"\x03\x04\x05\x06", 2) == (b"\x03\x04\x05\x06", b"")
    assert split_whole_samples(b"", 2) == (b"", b"")


async def test_markup_never_reaches_the_socket(
    server: FakeCartesiaServer, engine: CartesiaEngine
) -> None:
    hostile = 'hi <break time="9s"/><speed ratio="0.6"/> [laughter] <<ˈ|b|æ|d>> <spell>x</spell>'
    await collect(engine.synthesize(hostile))
    sent = server.requests[-1]["transcript"]
    assert sent == "hi laughter x"  # the IPA inside <<...>> goes with its tag
    assert not set(sent) & set("<>[]")
