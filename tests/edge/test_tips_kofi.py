"""Ko-fi tips end to end: webhook posts shaped as Ko-fi sends them, to the
control API's server, through the admission core, journal and player."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from streamer_tts.tips.fakes import kofi_payload, post_kofi
from tests.edge.tips_rig import running

pytestmark = pytest.mark.timeout(120)

VERIFY = "kofi-verify-5be1c2"
KOFI = {"kofi": {"enabled": True, "verification_token": VERIFY}}


async def test_webhook_tip_read_once_private_hidden_restart(tmp_path: Path) -> None:
    async with running(tmp_path, KOFI) as rig:
        hook = f"{rig.url}/webhooks/kofi"
        tip = kofi_payload(VERIFY, "tx-1", "Alice", "25.00", "EUR", "Great stream!")
        assert await post_kofi(hook, tip) == (200, "ok")  # no API token needed
        [accepted] = await rig.wait("tts.accepted", id="kofi:tx-1")
        assert accepted["priority"] == "urgent" and accepted["source"] == "kofi"
        assert accepted["kind"] == "tip 25.00 EUR via Ko-fi"
        await rig.wait("tts.finished", id="kofi:tx-1")

        retry = {**tip, "message_id": "another-delivery"}  # Ko-fi retrying
        assert await post_kofi(hook, retry) == (200, "ok")
        await rig.wait("tts.rejected", id="kofi:tx-1", reason="duplicate")

        private = kofi_payload(
            VERIFY, "tx-2", "Secret Sam", "5.00", "USD", "hidden words", is_public=False
        )
        assert (await post_kofi(hook, private))[0] == 200
        [hidden] = await rig.wait("tts.accepted", id="kofi:tx-2")
        assert hidden["text"] == "Someone tipped 5.00 dollars"
        await rig.wait("tts.finished", id="kofi:tx-2")
        logged = json.dumps(rig.events)
        assert "Secret Sam" not in logged and "hidden words" not in logged

        # not from Ko-fi, not readable, not a tip: answered, never read
        forged = kofi_payload("guess", "tx-3", "Mallory", "500.00", "USD")
        assert (await post_kofi(hook, forged))[0] == 401
        bad = kofi_payload(VERIFY, "tx-4", "Bob", "lots", "USD")
        assert (await post_kofi(hook, bad))[0] == 200
        shop = kofi_payload(VERIFY, "tx-5", "Carol", "40.00", "USD", kind="Shop Order")
        assert (await post_kofi(hook, shop))[0] == 200
        assert (await post_kofi(hook, "{not json"))[0] == 400
        async with aiohttp.ClientSession() as http:
            async with http.post(hook, data=b"plain") as r:
                assert r.status == 400
            async with http.post(f"{rig.url}/webhooks/nope", data={"data": "{}"}) as r:
                assert r.status == 404
            async with http.get(f"{rig.url}/api/queue") as r:
                assert r.status == 401  # the rest of the API still wants its token
            auth = {"Authorization": f"Bearer {rig.token}"}
            async with http.get(f"{rig.url}/metrics", headers=auth) as r:
                metrics = await r.text()
        assert 'tts_tips_total{currency="EUR",source="kofi"} 1.0' in metrics
        assert 'tts_tips_total{currency="USD",source="kofi"} 1.0' in metrics
        assert 'tts_tip_amount_total{currency="EUR",source="kofi"} 25.0' in metrics
        await rig.wait("tips.ignored", count=5, source="kofi")
        await asyncio.sleep(0.3)
        assert {r["id"] for r in rig.find("tts.accepted")} == {"kofi:tx-1", "kofi:tx-2"}
        assert VERIFY not in json.dumps(rig.events)

    async with running(tmp_path, KOFI) as rig:
        assert (await post_kofi(f"{rig.url}/webhooks/kofi", tip))[0] == 200
        await rig.wait("tts.rejected", id="kofi:tx-1", reason="duplicate")
        assert rig.find("tts.accepted") == []


async def test_kofi_without_the_api_is_one_line(tmp_path: Path) -> None:
    async with running(tmp_path, KOFI, api={"enabled": False}) as rig:
        [failed] = await rig.wait("tips.failed", source="kofi")
        assert "control API" in failed["error"]
