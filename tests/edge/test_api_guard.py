"""Who may do what: Host (DNS rebinding), the header-only token for /api and
/metrics, and the overlay's read-only token."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from streamer_tts.api.token import overlay_token
from tests.edge.api_rig import Api, running_api

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(tmp_path) as api:
        yield api


async def test_only_loopback_or_the_configured_host_is_served(api: Api) -> None:
    async with aiohttp.ClientSession(headers=api.auth) as http:
        for host in ("localhost", f"localhost:{api.port}", "127.0.0.1:1", "[::1]:80", "LOCALHOST"):
            async with http.get(f"{api.url}/api/queue", headers={"Host": host}) as r:
                assert r.status == 200, host
        for host in ("evil.example", f"evil.example:{api.port}", "127.0.0.2", "localhost.evil.io"):
            async with http.get(f"{api.url}/api/queue", headers={"Host": host}) as r:
                assert r.status in (403, 421), host
            async with http.get(
                f"{api.url}/overlay?token={api.token}", headers={"Host": host}
            ) as r:
                assert r.status in (403, 421), host


async def test_token_in_the_query_only_for_pages_and_ws(api: Api) -> None:
    q = f"token={api.token}"
    async with aiohttp.ClientSession() as http:
        for method, path in (("GET", "/api/queue"), ("POST", "/api/skip"), ("GET", "/metrics")):
            async with http.request(method, f"{api.url}{path}?{q}") as r:
                assert r.status == 401 and "Authorization" in (await r.json())["error"], path
            async with http.request(method, f"{api.url}{path}", headers=api.auth) as r:
                assert r.status == 200, path
        for path in ("/overlay", "/dashboard", "/static/dashboard.js"):
            async with http.get(f"{api.url}{path}?{q}") as r:
                assert r.status == 200, path
        async with http.ws_connect(f"{api.url}/ws?{q}") as ws:
            await ws.send_json({"type": "queue"})
            assert (await ws.receive_json(timeout=10))["ok"]


async def test_overlay_token_opens_the_overlay_and_nothing_else(api: Api) -> None:
    ov = api.overlay_token
    assert ov == overlay_token(api.token) and ov != api.token
    q = f"token={ov}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api.url}/overlay?{q}") as r:
            page = await r.text()
            assert r.status == 200 and f"?{q}" in page and api.token not in page
        for asset in ("overlay.css", "daemon.js", "overlay.js"):
            async with http.get(f"{api.url}/static/{asset}?{q}") as r:
                assert r.status == 200, asset
        for path in ("/dashboard", "/static/dashboard.js", "/static/dashboard.css"):
            async with http.get(f"{api.url}{path}?{q}") as r:
                assert r.status == 403, path
        bearer = {"Authorization": f"Bearer {ov}"}
        forged = {"donor_name": "Forger", "amount": 1000, "message": "urgent and paid"}
        for method, path, body in (
            ("POST", "/api/donation", forged),
            ("POST", "/api/skip", None),
            ("GET", "/api/queue", None),
            ("GET", "/metrics", None),
        ):
            async with http.request(method, f"{api.url}{path}", json=body, headers=bearer) as r:
                assert r.status == 403, path
        async with http.ws_connect(f"{api.url}/ws?{q}") as ws:
            await ws.send_json({"type": "subscribe"})
            reply = await ws.receive_json(timeout=10)
            assert reply["ok"] and reply["subscribed"] and "playing" in reply
            for msg in (
                {"type": "donation", **forged},
                {"type": "tts", "text": "hi"},
                {"type": "skip"},
                {"type": "queue"},
                {"type": "history"},
                {"type": "ban", "user": "streamer"},
            ):
                await ws.send_json(msg)
                while (reply := await ws.receive_json(timeout=10)).get("type") == "event":
                    pass
                assert reply["ok"] is False and reply["status"] == 403, msg
            # the stream itself works: events made with the full token reach it
            async with http.post(
                f"{api.url}/api/tts",
                json={"text": "tone 440 0.2 for the overlay"},
                headers=api.auth,
            ) as r:
                assert (await r.json())["ok"]
            while (event := await ws.receive_json(timeout=10)).get("event") != "tts.accepted":
                pass
            assert "for the overlay" in event["text"]
    assert all(m["user"] != "forger" for m in api.daemon.conductor.snapshot()["queue"])


def test_cli_prints_both_tokens_the_daemon_agrees_on(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"daemon:\n  state_dir: {tmp_path / 'state'}\n")

    def cli(*args: str) -> str:
        out = subprocess.run(
            [sys.executable, str(ROOT / "bot.py"), "api-token", "--config", str(config), *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    full, overlay = cli(), cli("--overlay")
    assert full == (tmp_path / "state" / "api-token").read_text().strip()
    assert overlay == overlay_token(full) and overlay != full
