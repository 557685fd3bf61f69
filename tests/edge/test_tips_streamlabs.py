"""Streamlabs tips end to end: our Engine.IO 3 client against a local Socket
API, through the daemon's admission core, journal and player."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from streamer_tts.tips import engineio
from streamer_tts.tips.fakes import FakeStreamlabs
from tests.edge.tips_rig import running

pytestmark = pytest.mark.timeout(120)

TOKEN = "sl-socket-token-31d9"


def sl(fake: FakeStreamlabs, token: str = TOKEN) -> dict[str, object]:
    return {"streamlabs": {"enabled": True, "token": token, "url": fake.url}}


async def test_donation_read_once_across_reconnect_and_restart(tmp_path: Path) -> None:
    async with FakeStreamlabs(token=TOKEN, ping_interval_ms=200, ping_timeout_ms=2000) as fake:
        async with running(tmp_path, sl(fake)) as rig:
            await rig.wait("tips.connected", source="streamlabs")
            await fake.wait_for(lambda: fake.pings >= 2, 10)  # in EIO 3 the client pings

            await fake.donation("d-eur", "Alice", "25.00", "EUR", "Great stream!")
            [accepted] = await rig.wait("tts.accepted", id="streamlabs:d-eur")
            assert accepted["priority"] == "urgent" and accepted["source"] == "streamlabs"
            assert accepted["kind"] == "tip 25.00 EUR via Streamlabs"
            await rig.wait("tts.finished", id="streamlabs:d-eur")
            await fake.donation("d-jpy", "Bob", "25", "JPY")
            await rig.wait("tts.rejected", id="streamlabs:d-jpy", reason="too_few_bits")

            # not tips: Twitch's own events, and a donation for another platform
            await fake.emit({"type": "follow", "message": [{"name": "x"}], "for": "twitch_account"})
            await fake.emit({"type": "donation", "message": [{"_id": "o"}], "for": "youtube"})
            # malformed: one line each, the link stays
            await fake.send_raw("42not json")
            await fake.emit({"type": "donation", "message": "not a list", "for": "streamlabs"})
            await fake.donation("d-bad", "Carol", "lots", "USD")
            await rig.wait("tips.ignored", count=3, source="streamlabs")

            await fake.drop()
            await rig.wait("tips.disconnected", source="streamlabs")
            await rig.wait("tips.connected", count=2, source="streamlabs")
            await fake.donation("d-eur", "Alice", "25.00", "EUR", "Great stream!")
            await rig.wait("tts.rejected", id="streamlabs:d-eur", reason="duplicate")
            assert len(rig.find("tts.accepted", id="streamlabs:d-eur")) == 1
            assert len(rig.find("tips.ignored")) == 3

        fake.redeliver_on_connect = True
        async with running(tmp_path, sl(fake)) as rig:
            dups = await rig.wait("tts.rejected", count=2, id="streamlabs:d-eur")
            assert {d["reason"] for d in dups} == {"duplicate"}
            await asyncio.sleep(0.3)
            assert rig.find("tts.accepted") == [] and rig.find("tts.started") == []


async def test_a_silent_link_is_noticed_and_replaced(tmp_path: Path) -> None:
    async with (
        FakeStreamlabs(token=TOKEN, ping_interval_ms=200, ping_timeout_ms=300) as fake,
        running(tmp_path, sl(fake)) as rig,
    ):
        await rig.wait("tips.connected", source="streamlabs")
        fake.answer_pings = False
        [gone] = await rig.wait("tips.disconnected", source="streamlabs")
        assert "pong" in gone["error"] or "nothing received" in gone["error"]
        fake.answer_pings = True
        await rig.wait("tips.connected", count=2, source="streamlabs")
        await fake.donation("d-after", "Dana", "3", "USD", "back again")
        await rig.wait("tts.accepted", id="streamlabs:d-after")


async def test_an_outage_is_retried_and_the_token_never_logged(tmp_path: Path) -> None:
    async with FakeStreamlabs(token=TOKEN) as fake:
        fake.handshake_status = 503
        async with running(tmp_path, sl(fake)) as rig:
            [down] = await rig.wait("tips.disconnected", source="streamlabs")
            assert "503" in down["error"] and TOKEN not in down["error"], down
            fake.handshake_status = None
            await rig.wait("tips.connected", source="streamlabs", timeout_s=30)
            assert len(rig.find("tips.disconnected")) == 1  # one line per change of state
            assert TOKEN not in str(rig.events)


async def test_bad_socket_token_is_one_line_and_no_retry(tmp_path: Path) -> None:
    async with (
        FakeStreamlabs(token=TOKEN) as fake,
        running(tmp_path, sl(fake, token="wrong-token-x")) as rig,
    ):
        [failed] = await rig.wait("tips.failed", source="streamlabs")
        assert "Authentication error" in failed["error"]
        assert "sources.streamlabs.token" in failed["error"]
        assert "wrong-token-x" not in failed["error"]
        await asyncio.sleep(1.5)
        assert fake.connections == 1 and len(rig.find("tips.failed")) == 1


# --- the Engine.IO 3 client's own parts ---------------------------------------


def test_connect_url() -> None:
    url = engineio.connect_url("https://sockets.streamlabs.com", {"token": "a b&c"})
    assert url == (
        "wss://sockets.streamlabs.com/socket.io/?EIO=3&transport=websocket&token=a+b%26c"
    )
    assert engineio.connect_url("http://127.0.0.1:9/", {}).startswith(
        "ws://127.0.0.1:9/socket.io/?"
    )


def test_packets() -> None:
    assert engineio.parse('42["event",{}]') == ("4", '2["event",{}]')
    assert engineio.parse("3") == ("3", "")
    for bad in ("", "x", "9"):
        with pytest.raises(engineio.EngineIOError):
            engineio.parse(bad)
    opened = engineio.parse_open(
        '{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":60000}'
    )
    assert opened == engineio.Open("s", 25.0, 60.0)
    with pytest.raises(engineio.EngineIOError):
        engineio.parse_open('{"sid":"s"}')
    assert engineio.parse_event('["event",{"type":"donation"}]') == ("event", {"type": "donation"})
    assert engineio.parse_event('["ping"]') == ("ping", None)
    for bad in ("{}", "[]", "[1]", "nope"):
        with pytest.raises(ValueError):
            engineio.parse_event(bad)


async def test_refused_by_http_status() -> None:
    import aiohttp

    async with FakeStreamlabs() as fake, aiohttp.ClientSession() as http:
        # a server that does not speak EIO 3 answers the handshake with 400
        url = f"ws://127.0.0.1:{fake.port}/socket.io/?EIO=4&transport=websocket"
        with pytest.raises(aiohttp.WSServerHandshakeError):
            async for _ in engineio.events(http, url):
                pass
