"""The Twitch simulator against TwitchIO 3.3.2 itself: payloads and the raw server.

Payloads are checked twice: TwitchIO's own models must parse them (a missing
key there silently drops a live event), and every key of TwitchIO's typed view
of Twitch's docs must be present. Then the server over raw sockets: sessions,
subscription checks, reconnects, OAuth. A real TwitchIO bot against it is in
``test_twitch_sim_bot.py``.
"""

from __future__ import annotations

import asyncio
import types
import typing
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import twitchio
import twitchio.types_.conduits as tio_conduits
import twitchio.types_.eventsub as tio_types
from twitchio.http import HTTPClient
from twitchio.models.eventsub_ import create_event_instance
from yarl import URL

from streamer_tts.twitch_sim import SimUser, TwitchSim
from streamer_tts.twitch_sim import payloads as p
from streamer_tts.twitch_sim.script import ScriptError, load_script, validate_script
from tests.edge.twitch_rig import sim

pytestmark = pytest.mark.timeout(30)

__all__ = ["sim"]  # the fixture, imported for pytest

STREAMER = SimUser("1000", "streamer", "Streamer")
ALICE = SimUser("3001", "alice", "Alice")
BOB = SimUser("3002", "bob", "Bob")
SUBSCRIPTIONS = "/helix/eventsub/subscriptions"

# TwitchIO's TypedDict for each event: its typed view of Twitch's documented keys.
TYPED_EVENTS: dict[str, Any] = {
    "channel.chat.message": tio_types.ChannelChatMessageEvent,
    "channel.chat.notification": tio_types.ChannelChatNotificationEvent,
    "channel.chat.message_delete": tio_types.ChannelChatMessageDeleteEvent,
    "channel.chat.clear_user_messages": tio_types.ChannelChatClearUserMessagesEvent,
    "channel.chat.clear": tio_types.ChannelChatClearEvent,
    "channel.cheer": tio_types.ChannelCheerEvent,
    "channel.subscribe": tio_types.ChannelSubscribeEvent,
    "channel.subscription.message": tio_types.ChannelSubscribeMessageEvent,
    "channel.subscription.gift": tio_types.ChannelSubscriptionGiftEvent,
    "channel.channel_points_custom_reward_redemption.add": (
        tio_types.ChannelPointsRewardRedemptionAddEvent
    ),
    "channel.follow": tio_types.ChannelFollowEvent,
    "channel.raid": tio_types.ChannelRaidEvent,
}
# Keys those TypedDicts list that Twitch does not send (and TwitchIO's models never read).
NOT_SENT_BY_TWITCH = {"channel.subscription.message": ["event.total"]}


def all_notices() -> list[tuple[str, dict[str, Any]]]:
    """Each builder, in the variants that change the shape (anonymous, gifts, fragments)."""
    reward = {"id": "r1", "title": "TTS", "cost": 100, "prompt": ""}
    rich = "hi Kappa @bob Cheer100 x"
    return [
        ("channel.chat.message", p.chat_message_event(STREAMER, ALICE, rich, users={"bob": BOB})),
        ("channel.chat.message", p.chat_message_event(STREAMER, ALICE, "hi", reward_id="r1")),
        *p.cheer_events(STREAMER, ALICE, 500, "nice"),
        *p.cheer_events(STREAMER, None, 100, "Cheer100 shh"),
        *p.sub_events(STREAMER, ALICE, "2000"),
        *p.sub_events(STREAMER, ALICE, is_prime=True),
        *p.resub_events(STREAMER, ALICE, 14, "still here LUL", tier="3000", streak=3),
        *p.resub_events(STREAMER, ALICE, 2, is_prime=True),
        *p.sub_gift_events(STREAMER, ALICE, BOB, cumulative=5),
        *p.sub_gift_events(STREAMER, None, BOB),
        *p.community_gift_events(STREAMER, ALICE, [BOB, STREAMER], cumulative=7),
        *p.community_gift_events(STREAMER, None, [BOB]),
        *p.raid_events(STREAMER, BOB, 42),
        ("channel.chat.message_delete", p.message_delete_event(STREAMER, ALICE, "m1")),
        ("channel.chat.clear_user_messages", p.clear_user_messages_event(STREAMER, ALICE)),
        ("channel.chat.clear", p.chat_clear_event(STREAMER)),
        (
            "channel.channel_points_custom_reward_redemption.add",
            p.redemption_add_event(STREAMER, ALICE, reward, "say hi"),
        ),
        ("channel.follow", p.follow_event(STREAMER, ALICE)),
    ]


def missing_keys(value: Any, hint: Any, path: str = "event") -> list[str]:
    """Keys (and Literal values) that TwitchIO's TypedDict ``hint`` wants and ``value`` lacks."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.NotRequired, typing.Required):
        return missing_keys(value, args[0], path)
    if typing.is_typeddict(hint):
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        out = []
        for key, sub in typing.get_type_hints(hint, include_extras=True).items():
            if key in value:
                out += missing_keys(value[key], sub, f"{path}.{key}")
            # string annotations hide NotRequired from __required_keys__, so check both
            elif key in hint.__required_keys__ and typing.get_origin(sub) is not typing.NotRequired:
                out.append(f"{path}.{key}")
        return out
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return []
        return min((missing_keys(value, a, path) for a in args if a is not type(None)), key=len)
    if origin is list and isinstance(value, list):
        return [m for i, v in enumerate(value) for m in missing_keys(v, args[0], f"{path}[{i}]")]
    if origin is typing.Literal and value not in args:
        return [f"{path}={value!r} not in {args}"]
    return []


def parse(sub_type: str, event: dict[str, Any]) -> Any:
    """What TwitchIO's websocket does with a notification, metadata and subscription included."""
    version = p.SUBSCRIPTION_RULES[sub_type].version
    sub = p.subscription_object("s1", sub_type, version, {}, "sess", p.timestamp())
    message = p.notification_message(sub, event)
    assert missing_keys(message, tio_conduits.NotificationMessage, "message") == []
    model = create_event_instance(sub_type, message, http=HTTPClient(client_id="x"))
    assert model.metadata.message_id == message["metadata"]["message_id"]
    assert (model.subscription_data.type, model.timestamp is not None) == (sub_type, True)
    return model


@pytest.mark.parametrize(("sub_type", "event"), all_notices(), ids=lambda v: str(v)[:40])
def test_every_payload_parses_and_has_every_key(sub_type: str, event: dict[str, Any]) -> None:
    parse(sub_type, event)
    assert missing_keys(event, TYPED_EVENTS[sub_type]) == NOT_SENT_BY_TWITCH.get(sub_type, [])


def test_a_missing_key_is_caught_by_both_checks() -> None:
    event = p.chat_message_event(STREAMER, ALICE, "hello")
    del event["channel_points_animation_id"]
    missing = missing_keys(event, TYPED_EVENTS["channel.chat.message"])
    assert missing == ["event.channel_points_animation_id"]
    with pytest.raises(KeyError):
        parse("channel.chat.message", event)


def test_payload_contents_match_twitch() -> None:
    text = "Cheer100 hi Kappa @bob"
    event = p.chat_message_event(STREAMER, ALICE, text, users={"bob": BOB}, badges=["moderator"])
    chat = parse("channel.chat.message", event)
    assert [f.type for f in chat.fragments] == ["cheermote", "text", "emote", "text", "mention"]
    assert (chat.cheer.bits, chat.fragments[0].cheermote.tier) == (100, 100)
    assert chat.chatter.moderator
    resub = parse("channel.chat.notification", p.resub_events(STREAMER, ALICE, 14, streak=3)[0][1])
    assert (resub.notice_type, resub.resub.cumulative_months, resub.resub.streak_months) == (
        "resub", 14, 3,
    )  # fmt: skip
    gift = parse("channel.subscription.gift", p.community_gift_events(STREAMER, None, [BOB])[1][1])
    assert (gift.anonymous, gift.user, gift.total) == (True, None, 1)
    welcome = p.session_message("session_welcome", "s", connected_at=p.timestamp(), keepalive_s=10)
    assert missing_keys(welcome, tio_conduits.WelcomeMessage) == []
    assert missing_keys(p.session_message("session_keepalive"), tio_conduits.KeepAliveMessage) == []


def test_script_errors_name_the_step(tmp_path: Path) -> None:
    chat = {"at": 0, "do": "chat", "user": "a", "text": "x"}
    with pytest.raises(ScriptError, match=r"step 1 \(cheer\): missing bits"):
        validate_script([chat, {"at": 1, "do": "cheer", "user": "a"}])
    with pytest.raises(ScriptError, match=r"step 0 \(chat\): unknown colour"):
        validate_script([chat | {"colour": "red"}])
    with pytest.raises(ScriptError, match="'do' must be one of"):
        validate_script([{"at": 0, "do": "dance"}])
    with pytest.raises(ScriptError, match="tier must be 1, 2 or 3"):
        validate_script([{"at": 0, "do": "sub", "user": "a", "tier": 4}])
    yaml_script = tmp_path / "s.yaml"
    yaml_script.write_text("script:\n  - {at: 2, do: raid, user: b}\n  - {at: 1, do: clear}\n")
    assert [s["do"] for s in load_script(yaml_script)] == ["clear", "raid"]
    py_script = tmp_path / "s.py"
    py_script.write_text("SCRIPT = [{'at': 0, 'do': 'follow', 'user': 'x'}]\n")
    assert load_script(py_script)[0]["do"] == "follow"


# --- the server, over raw sockets --------------------------------------------------------------


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.receive(), 3)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    return message.json()


async def subscribe(
    http: aiohttp.ClientSession, sim: TwitchSim, session_id: str, user_id: str = "2000"
) -> aiohttp.ClientResponse:
    """The bot's token asks for ``channel.chat.message`` read as ``user_id``."""
    body = {
        "type": "channel.chat.message",
        "version": "1",
        "condition": {"broadcaster_user_id": "1000", "user_id": user_id},
        "transport": {"method": "websocket", "session_id": session_id},
    }
    headers = {
        "Authorization": f"Bearer {sim.user_tokens['ttsbot'][0]}",
        "Client-Id": sim.client_id,
    }
    return await http.post(f"{sim.url}{SUBSCRIPTIONS}", json=body, headers=headers)


async def test_session_welcome_keepalive_and_inbound_traffic(sim: TwitchSim) -> None:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(f"{sim.ws_url}?keepalive_timeout_seconds=0")
        ws = await http.ws_connect(f"{sim.ws_url}?keepalive_timeout_seconds=1")
        welcome = await receive(ws)
        assert missing_keys(welcome, tio_conduits.WelcomeMessage) == []
        assert welcome["payload"]["session"]["keepalive_timeout_seconds"] == 1
        assert (await receive(ws))["metadata"]["message_type"] == "session_keepalive"
        await ws.send_str("hello")  # Twitch closes on any client message
        assert (await asyncio.wait_for(ws.receive(), 3)).type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4001


async def test_subscription_checks_answer_as_twitch_does(sim: TwitchSim) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(sim.ws_url)
        session_id = (await receive(ws))["payload"]["session"]["id"]
        assert (await subscribe(http, sim, "no-such-session")).status == 400
        as_someone_else = await subscribe(http, sim, session_id, user_id="1000")
        assert as_someone_else.status == 403
        assert await as_someone_else.json() == {
            "error": "Forbidden", "status": 403, "message": "subscription missing proper authorization",
        }  # fmt: skip
        created = await subscribe(http, sim, session_id)
        assert created.status == 202
        assert (await created.json())["data"][0]["transport"]["session_id"] == session_id
        assert (await subscribe(http, sim, session_id)).status == 409
        headers = {"Authorization": "Bearer nope", "Client-Id": sim.client_id}
        bad = await http.get(f"{sim.url}/helix/users", headers=headers)
        assert (bad.status, (await bad.json())["message"]) == (401, "Invalid OAuth token")
        elsewhere = p.chat_message_event(SimUser("4000", "otherchannel"), ALICE, "not here")
        assert await sim.send_raw("channel.chat.message", elsewhere) == 0  # the condition filters
        here = p.chat_message_event(sim.broadcaster, ALICE, "hi")
        assert await sim.send_raw("channel.chat.message", here) == 1
        assert (await receive(ws))["payload"]["event"]["message"]["text"] == "hi"
        await ws.close()


async def test_reconnect_moves_subscriptions_then_closes_the_old_socket(sim: TwitchSim) -> None:
    async with aiohttp.ClientSession() as http:
        old = await http.ws_connect(sim.ws_url)
        assert (await subscribe(http, sim, (await receive(old))["payload"]["session"]["id"])).ok
        await sim.reconnect()
        reconnect = await receive(old)
        assert missing_keys(reconnect, tio_conduits.ReconnectMessage) == []
        new = await http.ws_connect(reconnect["payload"]["session"]["reconnect_url"])
        new_id = (await receive(new))["payload"]["session"]["id"]
        assert (await asyncio.wait_for(old.receive(), 3)).type is aiohttp.WSMsgType.CLOSE
        assert old.close_code == 4004
        assert [s["transport"]["session_id"] for s in sim.subscriptions] == [new_id]
        await sim.chat("alice", "after")
        assert (await receive(new))["payload"]["event"]["message"]["text"] == "after"
        await new.close()


async def test_authorization_code_flow(sim: TwitchSim) -> None:
    sim.authorize_login = "streamer"
    redirect_uri = "http://localhost:4343/oauth/callback"
    query = {"client_id": sim.client_id, "redirect_uri": redirect_uri, "response_type": "code"}
    query |= {"scope": "bits:read user:read:chat", "state": "xyz"}
    async with aiohttp.ClientSession() as http:
        answer = await http.get(f"{sim.url}/oauth2/authorize", params=query, allow_redirects=False)
    callback = URL(answer.headers["Location"])
    assert (str(callback.with_query(None)), callback.query["state"]) == (redirect_uri, "xyz")
    oauth = twitchio.authentication.OAuth(client_id=sim.client_id, client_secret=sim.client_secret)
    token = await oauth.user_access_token(callback.query["code"], redirect_uri=redirect_uri)
    valid = await oauth.validate_token(token.access_token)
    await oauth.close()
    assert (valid.login, sorted(valid.scopes)) == ("streamer", ["bits:read", "user:read:chat"])
