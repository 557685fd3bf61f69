"""StreamElements tips end to end: the real connector against a local Astro
gateway, through the daemon's admission core, journal and player."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from streamer_tts.tips.fakes import FakeAstro, FakeStreamlabs
from tests.edge.tips_rig import running

pytestmark = pytest.mark.timeout(120)

TOKEN = "se-jwt-7f3a9c"


def se(fake: FakeAstro, **extra: object) -> dict[str, object]:
    return {"streamelements": {"enabled": True, "token": TOKEN, "url": fake.url, **extra}}


async def test_tip_read_once_in_its_tier_across_reconnect_and_restart(tmp_path: Path) -> None:
    async with FakeAstro(token=TOKEN) as fake:
        async with running(tmp_path, se(fake)) as rig:
            await rig.wait("tips.connected", source="streamelements")
            request = fake.requests[0]
            assert request["type"] == "subscribe"
            assert uuid.UUID(request["nonce"])
            assert request["data"] == {"topic": "channel.tips", "token": TOKEN, "token_type": "jwt"}

            await fake.tip("t-eur", "Alice", 25, "EUR", "Great stream!")
            [accepted] = await rig.wait("tts.accepted", id="streamelements:t-eur")
            assert accepted["source"] == "streamelements" and accepted["priority"] == "urgent"
            assert accepted["kind"] == "tip 25.00 EUR via StreamElements"
            assert accepted["text"] == "Alice tipped 25.00 euros: Great stream!"
            await rig.wait("tts.finished", id="streamelements:t-eur")
            await rig.wait("tips.received", source="streamelements", currency="EUR")

            await fake.tip("t-jpy", "Bob", 25, "JPY", "same number, other money")
            [small] = await rig.wait("tts.rejected", id="streamelements:t-jpy")
            assert small["reason"] == "too_few_bits"

            # a currency without a rate: the lowest tier, logged once
            await fake.tip("t-gold-1", "Gil", 2, "XAU", "shiny")
            await fake.tip("t-gold-2", "Gil", 3, "XAU", "shinier")
            for tip_id in ("streamelements:t-gold-1", "streamelements:t-gold-2"):
                [gold] = await rig.wait("tts.accepted", id=tip_id)
                assert gold["priority"] == "normal"
            [unknown] = rig.find("tips.unknown_currency")
            assert unknown["currency"] == "XAU" and unknown["source"] == "streamelements"

            # malformed: ignored with one line each, the connection stays
            await fake.send_raw("{not json")
            await fake.publish("channel.tips", {"_id": "t-bad", "donation": {"amount": "lots"}})
            await rig.wait("tips.ignored", count=2, source="streamelements")

            # the gateway drops mid-stream; the connector comes back and
            # a redelivered tip is a duplicate
            await fake.drop()
            await rig.wait("tips.disconnected", source="streamelements")
            await rig.wait("tips.connected", count=2, source="streamelements")
            await fake.tip("t-eur", "Alice", 25, "EUR", "Great stream!")
            [dup] = await rig.wait("tts.rejected", id="streamelements:t-eur")
            assert dup["reason"] == "duplicate"
            assert len(rig.find("tts.accepted", id="streamelements:t-eur")) == 1
            assert len(rig.find("tips.ignored")) == 2

        # restart: the gateway replays what it sent; nothing is read again
        fake.redeliver_on_subscribe = True
        async with running(tmp_path, se(fake)) as rig:
            # sent twice before the restart, so replayed twice
            dups = await rig.wait("tts.rejected", count=2, id="streamelements:t-eur")
            assert {d["reason"] for d in dups} == {"duplicate"}
            await rig.wait("tts.rejected", id="streamelements:t-jpy", reason="too_few_bits")
            await rig.wait("tts.rejected", count=2, reason="duplicate", user="gil")
            await asyncio.sleep(0.3)
            assert rig.find("tts.accepted") == [] and rig.find("tts.started") == []


async def test_require_approved_reads_only_allowed_tips(tmp_path: Path) -> None:
    async with (
        FakeAstro(token=TOKEN) as fake,
        running(tmp_path, se(fake, require_approved=True, token_type="apikey")) as rig,
    ):
        await rig.wait("tips.connected", source="streamelements")
        topics = {r["data"]["topic"]: r["data"]["token_type"] for r in fake.requests}
        assert topics == {"channel.tips": "apikey", "channel.tips.moderation": "apikey"}
        held = await fake.tip("t-held", "Carol", 10, "USD", "wait for it", approved="pending")
        refused = await fake.tip("t-no", "Dave", 10, "USD", "rude words", approved="pending")
        await fake.moderate(refused, "rejected")
        await fake.moderate(held, "pending")
        await asyncio.sleep(0.5)
        assert rig.find("tts.accepted") == []
        await fake.moderate(held, "allowed")
        [accepted] = await rig.wait("tts.accepted", id="streamelements:t-held")
        assert accepted["priority"] == "urgent"
        await asyncio.sleep(0.3)
        assert [r["id"] for r in rig.find("tts.accepted")] == ["streamelements:t-held"]


async def test_bad_token_one_line_source_off_rest_runs(tmp_path: Path) -> None:
    async with (
        FakeAstro(token="the-right-one") as astro,
        FakeStreamlabs(token="sl-good") as streamlabs,
        running(
            tmp_path,
            {
                **se(astro),
                "streamlabs": {"enabled": True, "token": "sl-good", "url": streamlabs.url},
            },
        ) as rig,
    ):
        [failed] = await rig.wait("tips.failed", source="streamelements")
        assert "refused" in failed["error"] and "sources.streamelements.token" in failed["error"]
        assert TOKEN not in failed["error"]
        await rig.wait("tips.connected", source="streamlabs")
        await streamlabs.donation("d1", "Erin", "5.00", "GBP", "still here")
        [accepted] = await rig.wait("tts.accepted", id="streamlabs:d1")
        assert accepted["priority"] == "high"  # 5 GBP = 635 bits: the 500 tier
        await asyncio.sleep(1.5)  # longer than the first backoff: no retry
        assert astro.connections == 1
        assert len(rig.find("tips.failed")) == 1
        assert not rig.find("tips.connected", source="streamelements")
