"""The control API's input: every field cleaned at the door, every malformed
request a 4xx with one line naming the field, never a 5xx."""

from __future__ import annotations

import io
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streamer_tts import logs
from tests.edge.api_rig import Api, running_api

pytestmark = pytest.mark.timeout(120)

HOSTILE_NAME = "\x1b[2J\x1b]0;owned\x07Eve\u202egnp.exe\u2066\x9b31m\u200b"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(tmp_path) as api:
        yield api


def _harmless(text: str) -> bool:
    return all(ch.isprintable() for ch in text)


async def test_hostile_donor_name_is_cleaned_before_log_pages_and_engine(api: Api) -> None:
    out = io.StringIO()
    handler = logs.setup_logging(format="text", stream=out)
    try:
        async with aiohttp.ClientSession(headers=api.auth) as http:
            async with http.post(f"{api.url}/api/pause") as r:
                assert r.status == 200
            donation = {"donor_name": HOSTILE_NAME, "amount": 5, "message": "hi", "currency": "eur"}
            async with http.post(f"{api.url}/api/donation", json=donation) as r:
                reply = await r.json()
                assert r.status == 200 and reply["ok"], reply
            async with http.get(f"{api.url}/api/queue") as r:
                (waiting,) = (await r.json())["queue"]
    finally:
        handler.flush()
    assert _harmless(waiting["user"]) and _harmless(waiting["text"])
    assert "Eve" in waiting["text"] and "euros" in waiting["text"]  # "eur" read as EUR
    assert _harmless(out.getvalue().replace("\n", ""))
    assert "Eve" in out.getvalue()


async def test_empty_name_reads_as_anonymous_and_bad_fields_are_400(api: Api) -> None:
    async with aiohttp.ClientSession(headers=api.auth) as http:

        async def post(kind: str, body: object) -> tuple[int, dict[str, Any]]:
            async with http.post(f"{api.url}/api/{kind}", json=body) as r:
                return r.status, await r.json()

        await post("pause", {})
        status, reply = await post("donation", {"donor_name": "   ", "amount": 5})
        assert status == 200 and reply["ok"]
        status, reply = await post("donation", {"donor_name": "\x1b\u202e", "amount": 5})
        assert status == 200 and reply["ok"]
        async with http.get(f"{api.url}/api/queue") as r:
            users = [m["user"] for m in (await r.json())["queue"]]
        assert users == ["anonymous", "anonymous"]
        for currency in ("[[x]]", "US", "EURO", "€", 840, None, "U$D"):
            status, reply = await post(
                "donation", {"donor_name": "a", "amount": 5, "currency": currency}
            )
            assert status == 400 and reply["error"].startswith("currency:"), (currency, reply)
        for user in ("@", "", "   ", "two words", "x" * 26, "é", 5, ["a"], "a;b"):
            status, reply = await post("ban", {"user": user})
            assert status == 400 and reply["error"].startswith("user:"), (user, reply)
        status, reply = await post("ban", {"user": " @TrollFace_9 "})
        assert status == 200 and reply["action"] == "ban", reply
        assert api.daemon.admission.banned == {"trollface_9"}


# (body bytes, content type): malformed in every way we could think of
RAW_BODIES: list[tuple[bytes, str]] = [
    (b"", "application/json"),
    (b"   ", "application/json"),
    (b"null", "application/json"),
    (b"[]", "application/json"),
    (b'"donation"', "application/json"),
    (b"42", "application/json"),
    (b"{", "application/json"),
    (b"\xff\xfe\xfd", "application/json"),
    (b'{"donor_name": "\xff", "amount": 5}', "application/json"),
    (b'{"donor_name": "a", "amount": NaN}', "application/json"),
    (b'{"donor_name": "a", "amount": Infinity}', "application/json"),
    (b'{"donor_name": "a", "amount": -Infinity}', "application/json"),
    (b'{"donor_name": "a", "amount": 1e400}', "application/json"),
    (b'{"donor_name": "a", "amount": 1' + b"0" * 5000 + b"}", "application/json"),
    (b"[" * 10_000 + b"]" * 10_000, "application/json"),
    (b"donor_name=a&amount=5", "application/x-www-form-urlencoded"),
    (b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--", "multipart/form-data"),
    (b"<donation/>", "text/xml"),
]

BAD_DONATIONS: list[object] = [
    {},
    {"donor_name": "a"},
    {"amount": 5},
    {"donor_name": None, "amount": 5},
    {"donor_name": 5, "amount": 5},
    {"donor_name": {"first": "a"}, "amount": 5},
    {"donor_name": ["a"], "amount": 5},
    {"donor_name": "a", "amount": "lots"},
    {"donor_name": "a", "amount": True},
    {"donor_name": "a", "amount": None},
    {"donor_name": "a", "amount": [5]},
    {"donor_name": "a", "amount": {"value": 5}},
    {"donor_name": "a", "amount": 0},
    {"donor_name": "a", "amount": -5},
    {"donor_name": "a", "amount": 10**30},
    {"donor_name": "a", "amount": "NaN"},
    {"donor_name": "a", "amount": "inf"},
    {"donor_name": "a", "amount": 5, "message": 7},
    {"donor_name": "a", "amount": 5, "message": {"a": {"b": {"c": 1}}}},
    {"donor_name": "a", "amount": 5, "message": "x" * 3000},
    {"donor_name": "a", "amount": 5, "id": ""},
    {"donor_name": "a", "amount": 5, "id": "has space"},
    {"donor_name": "a", "amount": 5, "id": "\x1b[2J"},
    {"donor_name": "a", "amount": 5, "id": 12},
    {"donor_name": "a", "amount": 5, "extra": 1},
    {"donor_name": "a", "amount": 5, "type": "tts"},
    {"donor_name": "x" * 3000, "amount": 5},
]

BAD_OTHERS: list[tuple[str, object]] = [
    ("tts", {}),
    ("tts", {"text": ""}),
    ("tts", {"text": "   "}),
    ("tts", {"text": 5}),
    ("tts", {"text": ["a"]}),
    ("tts", {"text": "a", "priority": "highest"}),
    ("tts", {"text": "a", "priority": 3}),
    ("remove", {}),
    ("remove", {"id": None}),
    ("remove", {"id": {"$ne": 1}}),
    ("replay", {"id": ["x"]}),
    ("ban", {}),
    ("unban", {"user": None}),
    ("skip", {"now": True}),
    ("dance", {}),
    ("__init__", {}),
    ("DONATION", {"donor_name": "a", "amount": 5}),
]


def _one_line_error(reply: dict[str, Any]) -> str:
    error = reply["error"]
    assert reply["ok"] is False and isinstance(error, str) and error and "\n" not in error
    return error


async def test_fuzzed_http_bodies_are_4xx_never_5xx(api: Api) -> None:
    async with aiohttp.ClientSession(headers=api.auth) as http:
        await http.post(f"{api.url}/api/pause")
        for raw, content_type in RAW_BODIES:
            for kind in ("donation", "tts", "ban", "skip"):
                async with http.post(
                    f"{api.url}/api/{kind}", data=raw, headers={"Content-Type": content_type}
                ) as r:
                    assert r.status < 500, (kind, raw[:40], r.status)
                    if kind == "skip" and raw.strip() in (b"",):
                        continue  # an empty body is a valid skip
                    assert 400 <= r.status < 500, (kind, raw[:40], r.status)
                    _one_line_error(await r.json())
        for body in BAD_DONATIONS:
            async with http.post(f"{api.url}/api/donation", json=body) as r:
                assert r.status == 400, (body, r.status)
                error = _one_line_error(await r.json())
                named = [k for k in ("donor_name", "amount", "message", "id", "extra", "type")]
                assert error.split(":")[0] in named, (body, error)
        for kind, body in BAD_OTHERS:
            async with http.post(f"{api.url}/api/{kind}", json=body) as r:
                assert r.status == 400, (kind, body, r.status)
                _one_line_error(await r.json())
        for method, path in (("GET", "/api/donation"), ("PUT", "/api/tts"), ("GET", "/nope")):
            async with http.request(method, f"{api.url}{path}") as r:
                assert 400 <= r.status < 500, (method, path, r.status)
        async with http.get(f"{api.url}/api/queue") as r:
            assert r.status == 200 and (await r.json())["queue"] == []  # nothing slipped in
        # a JSON body is read as JSON whatever its label (`curl -d` says form-urlencoded)
        body = b'{"donor_name": "a", "amount": 5}'
        for content_type in ("application/x-www-form-urlencoded", "text/plain", ""):
            headers = {"Content-Type": content_type} if content_type else {}
            async with http.post(f"{api.url}/api/donation", data=body, headers=headers) as r:
                assert r.status == 200 and (await r.json())["ok"]


def _random_value(rng: random.Random, depth: int = 0) -> object:
    kinds = ["int", "float", "str", "bool", "null", "list", "dict", "huge", "control"]
    kind = rng.choice(kinds if depth < 3 else kinds[:5])
    if kind == "int":
        return rng.randint(-(10**6), 10**6)
    if kind == "float":
        return rng.choice([0.0, -1.5, 1e308, 5e-324, 25.0, 1e9])
    if kind == "str":
        return "".join(rng.choice("aZ9 _@-[]{}\u202e\u0000é😀") for _ in range(rng.randint(0, 30)))
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "huge":
        return 10 ** rng.randint(20, 400)
    if kind == "control":
        return "\x1b]0;x\x07" * rng.randint(1, 5)
    if kind == "list":
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {
        rng.choice(["donor_name", "amount", "message", "currency", "id", "text", "user", "zz"]): (
            _random_value(rng, depth + 1)
        )
        for _ in range(rng.randint(0, 5))
    }


async def test_random_messages_over_websocket_never_break_it(api: Api) -> None:
    rng = random.Random(1234)
    types = ["donation", "tts", "ban", "unban", "remove", "replay", "queue", "nope", 5, None]
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{api.url}/ws?token={api.token}") as ws,
    ):
        await ws.send_json({"type": "pause"})
        assert (await ws.receive_json())["ok"]
        for _ in range(400):
            body = _random_value(rng)
            msg = {**body, "type": rng.choice(types)} if isinstance(body, dict) else body
            await ws.send_str(json.dumps(msg))
            reply = await ws.receive_json(timeout=10)
            if not reply["ok"] and "error" in reply and not reply.get("id"):
                _one_line_error(reply)
        await ws.send_bytes(b"\x00\x01")
        assert (await ws.receive_json(timeout=10))["ok"] is False
        await ws.send_str("{" * 5000)
        assert (await ws.receive_json(timeout=10))["ok"] is False
        await ws.send_json({"type": "queue"})
        assert (await ws.receive_json(timeout=10))["ok"]  # still answering
