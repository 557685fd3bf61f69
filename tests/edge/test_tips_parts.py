"""The connectors' pure parts: provider fields to a core Tip, Speaker.bot
requests to API messages."""

from __future__ import annotations

from typing import Any

import pytest

from streamer_tts.core.events import Source
from streamer_tts.tips import speakerbot
from streamer_tts.tips.common import BadTip, make_tip


def test_make_tip_keeps_the_provider_id_and_cleans_fields() -> None:
    tip = make_tip(
        Source.STREAMLABS,
        provider_id=" abc123 ",
        name="Evil\u202eName\x1b[31m",
        amount="12.50",
        currency="eur",
        message="hello",
    )
    assert tip.id == "streamlabs:abc123" and tip.source is Source.STREAMLABS
    assert tip.amount == 12.5 and tip.currency == "EUR" and tip.paid
    assert "\u202e" not in tip.user.name and "\x1b" not in tip.user.name
    assert tip.user.login == "evilname[31m"
    private = make_tip(
        Source.KOFI, provider_id=7, name="Sam", amount=5, currency="USD", message="x", private=True
    )
    assert private.user.name == "Someone" and private.message == "" and private.private
    assert private.id == "kofi:7"
    nameless = make_tip(Source.STREAMELEMENTS, provider_id="n", name=None, amount=1, currency="USD")
    assert nameless.user.login == "anonymous"


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"provider_id": None}, "no id"),
        ({"provider_id": "  "}, "no id"),
        ({"amount": "lots"}, "not a number"),
        ({"amount": True}, "not a number"),
        ({"amount": None}, "not a number"),
        ({"amount": "-5"}, "positive"),
        ({"amount": "nan"}, "positive"),
        ({"amount": 1e12}, "positive"),
        ({"currency": "euro"}, "currency"),
        ({"currency": None}, "currency"),
    ],
)
def test_make_tip_refuses_what_is_not_a_tip(fields: dict[str, Any], why: str) -> None:
    base: dict[str, Any] = {"provider_id": "x", "name": "a", "amount": 1, "currency": "USD"}
    with pytest.raises(BadTip, match=why):
        make_tip(Source.STREAMLABS, **{**base, **fields})


async def test_speakerbot_requests_map_to_api_messages() -> None:
    sent: list[dict[str, Any]] = []

    async def handle(message: object) -> tuple[dict[str, Any], int]:
        assert isinstance(message, dict)
        sent.append(message)
        if message["type"] == "tts" and message["text"] == "refuse me":
            return {"ok": False, "error": "banned_word"}, 200
        return {"ok": True, "id": "api:1"}, 200

    assert speakerbot.is_request({"request": "Speak"})
    assert not speakerbot.is_request({"type": "tts", "request": "x"})
    assert not speakerbot.is_request(["request"])
    reply = await speakerbot.answer(handle, {"id": "7", "request": "Speak", "message": "hi"})
    assert reply == {"id": "7", "status": "ok", "messageId": "api:1"}
    for request, kind in speakerbot.REQUESTS.items():
        if request != "Speak":
            assert (await speakerbot.answer(handle, {"id": "x", "request": request}))[
                "status"
            ] == "ok"
            assert sent[-1] == {"type": kind}
    refused = await speakerbot.answer(
        handle, {"id": "8", "request": "Speak", "message": "refuse me"}
    )
    assert refused == {"id": "8", "status": "error", "error": "banned_word"}
    assert (await speakerbot.answer(handle, {"request": 5}))["status"] == "error"
    assert (await speakerbot.answer(handle, {"request": "Speak"}))["status"] == "error"


async def test_backoff_doubles_to_30_s_resets_after_a_connection_and_logs_changes() -> None:
    from streamer_tts import logs
    from streamer_tts.tips.common import AuthError, Connector

    waits: list[float] = []
    outcomes = ["fail"] * 7 + ["up", "fail", "fail", "auth"]

    async def session(connected: Any) -> str:
        outcome = outcomes.pop(0)
        if outcome == "auth":
            raise AuthError("refused SECRET")
        if outcome == "up":
            connected()
            return "dropped"
        raise ConnectionError("unreachable SECRET")

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    events: list[dict[str, Any]] = []
    remove = logs.add_listener(events.append)
    try:
        connector = Connector(Source.STREAMLABS, session, secrets=("SECRET",), sleep=sleep)
        connector.start()
        await connector._task  # ends at the refused token
    finally:
        remove()
    assert waits == [1, 2, 4, 8, 16, 30, 30, 1, 2, 4]
    names = [e["event"] for e in events]
    # first failure, connected, its drop, then the refusal: one line per change
    assert names == ["tips.disconnected", "tips.connected", "tips.disconnected", "tips.failed"]
    assert "SECRET" not in str(events) and connector.connections == 1
