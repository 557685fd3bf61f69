"""The Twitch simulator against a real TwitchIO 3.3.2 ``commands.Bot``.

It starts against the simulator, subscribes, and receives each kind of event,
a reconnect, a dropped socket, a silent socket, a revocation, a refused
subscription and a refreshed token; scripts play in order; the simulator's
command line serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import twitchio
from twitchio import eventsub
from twitchio.eventsub import websockets as ws_module
from twitchio.eventsub.subscriptions import _SUB_MAPPING
from twitchio.ext import commands

from streamer_tts.twitch_sim import SimUser, TwitchSim
from streamer_tts.twitch_sim import payloads as p
from streamer_tts.twitch_sim.script import load_script
from tests.edge.test_twitch_sim import ALICE, SUBSCRIPTIONS, TYPED_EVENTS
from tests.edge.twitch_rig import pointed_at, sim

pytestmark = pytest.mark.timeout(30)

__all__ = ["sim"]  # the fixture, imported for pytest

EVENTS = (
    "message", "chat_notification", "message_delete", "chat_clear_user", "chat_clear", "cheer",
    "subscription", "subscription_message", "subscription_gift", "custom_redemption_add",
    "follow", "raid", "subscription_revoked",
)  # fmt: skip


class SimBot(commands.Bot):
    """A plain TwitchIO bot: tokens from the simulator's file, subscriptions in ``setup_hook``."""

    def __init__(self, sim: TwitchSim, tokens: Path, subs: Sequence[tuple[Any, str]]) -> None:
        super().__init__(
            client_id=sim.client_id,
            client_secret=sim.client_secret,
            bot_id=sim.bot.id,
            owner_id=sim.broadcaster.id,
            prefix="!",
        )
        self.tokens_path, self.wanted, self.ready = tokens, subs, asyncio.Event()
        self.inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._aside: list[tuple[str, Any]] = []
        for name in EVENTS:
            self.add_listener(self._recorder(name), event=f"event_{name}")

    def _recorder(self, name: str) -> Any:
        async def record(payload: Any) -> None:
            self.inbox.put_nowait((name, payload))

        return record

    async def load_tokens(self, path: str | None = None) -> None:
        await super().load_tokens(str(self.tokens_path))

    async def setup_hook(self) -> None:
        await self.add_component(Ping())
        for payload, token_for in self.wanted:  # as_bot=True would override token_for
            await self.subscribe_websocket(payload, as_bot=token_for == "2000", token_for=token_for)

    async def event_ready(self) -> None:
        self.ready.set()

    async def next(self, name: str, where: Any = None, timeout: float = 3.0) -> Any:
        """The next ``name`` event (with ``where(payload)`` true); others wait for their turn."""
        async with asyncio.timeout(timeout):
            while True:
                for i, (seen, payload) in enumerate(self._aside):
                    if seen == name and (where is None or where(payload)):
                        return self._aside.pop(i)[1]
                self._aside.append(await self.inbox.get())


class Ping(commands.Component):
    @commands.command()
    async def ping(self, ctx: commands.Context[SimBot]) -> None:
        await ctx.reply("pong")


def chat_subs() -> list[tuple[Any, str]]:
    chat = {"broadcaster_user_id": "1000", "user_id": "2000"}
    kinds = (
        eventsub.ChatMessageSubscription, eventsub.ChatNotificationSubscription,
        eventsub.ChatMessageDeleteSubscription, eventsub.ChatClearUserMessagesSubscription,
        eventsub.ChatClearSubscription,
    )  # fmt: skip
    return [(kind(**chat), "2000") for kind in kinds]


def broadcaster_subs() -> list[tuple[Any, str]]:
    owner = {"broadcaster_user_id": "1000"}
    kinds = (
        eventsub.ChannelCheerSubscription, eventsub.ChannelSubscribeSubscription,
        eventsub.ChannelSubscribeMessageSubscription, eventsub.ChannelSubscriptionGiftSubscription,
        eventsub.ChannelPointsRedeemAddSubscription,
    )  # fmt: skip
    return [(kind(**owner), "1000") for kind in kinds] + [
        (eventsub.ChannelFollowSubscription(**owner, moderator_user_id="1000"), "1000"),
        (eventsub.ChannelRaidSubscription(to_broadcaster_user_id="1000"), "1000"),
    ]


@contextlib.asynccontextmanager
async def running_bot(
    sim: TwitchSim, tmp_path: Path, subs: Sequence[tuple[Any, str]]
) -> AsyncIterator[SimBot]:
    """Start a bot; close it before the simulator stops (else it retries forever)."""
    bot = SimBot(sim, sim.write_tokens_file(tmp_path / "tokens.json"), subs)
    task = asyncio.create_task(bot.start(with_adapter=False, save_tokens=False))
    try:
        await asyncio.wait_for(bot.ready.wait(), 10)
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(task, 5)


async def test_bot_starts_with_the_calls_twitchio_makes(sim: TwitchSim, tmp_path: Path) -> None:
    async with running_bot(sim, tmp_path, chat_subs()):
        calls = [(r.method, r.path, r.status) for r in sim.requests]
    validate = ("GET", "/oauth2/validate", 200)  # the app token, then each user token
    assert calls[:4] == [("POST", "/oauth2/token", 200), validate, validate, validate]
    assert sorted(r.query["id"] for r in sim.requests if r.path == "/helix/users") == [
        ["1000"], ["2000"],
    ]  # fmt: skip
    assert [r.status for r in sim.requests if r.path == SUBSCRIPTIONS] == [202] * len(chat_subs())
    assert {path for _, path, _ in calls} == {
        "/oauth2/token", "/oauth2/validate", "/helix/users", SUBSCRIPTIONS,
    }  # fmt: skip


async def test_each_happening_reaches_its_listener(sim: TwitchSim, tmp_path: Path) -> None:
    async with running_bot(sim, tmp_path, chat_subs() + broadcaster_subs()) as bot:
        said = await sim.chat("alice", "hello @streamer Kappa", badges=["vip", "subscriber/6"])
        message = await bot.next("message")
        assert (message.id, message.text) == (said["message_id"], "hello @streamer Kappa")
        assert (message.chatter.name, message.chatter.vip, message.chatter.subscriber) == (
            "alice", True, True,
        )  # fmt: skip

        await sim.cheer("bob", 250, "great stream")
        message, cheer = await bot.next("message"), await bot.next("cheer")
        assert (message.cheer.bits, message.fragments[0].type) == (250, "cheermote")
        assert (cheer.bits, cheer.message) == (250, "Cheer250 great stream")

        await sim.resub("carol", 14, "love it", tier="2000", streak=3)
        notice = await bot.next("chat_notification", lambda n: n.resub)
        shared = await bot.next("subscription_message")
        assert (notice.resub.cumulative_months, notice.text) == (14, "love it")
        assert (shared.text, shared.streak_months, shared.tier) == ("love it", 3, "2000")

        await sim.sub("dave")
        assert (await bot.next("chat_notification", lambda n: n.sub)).sub.tier == "1000"
        assert (await bot.next("subscription")).user.name == "dave"

        await sim.sub_gift("erin", "frank")
        gift = await bot.next("subscription_gift")
        notice = await bot.next("chat_notification", lambda n: n.sub_gift)
        sub = await bot.next("subscription")
        assert (gift.total, gift.user.name, notice.sub_gift.recipient.name) == (1, "erin", "frank")
        assert (sub.user.name, sub.gift) == ("frank", True)

        giftees = await sim.community_gift(None, 3)
        notice = await bot.next("chat_notification", lambda n: n.community_sub_gift)
        assert (notice.community_sub_gift.total, notice.anonymous) == (3, True)
        assert (await bot.next("subscription_gift")).anonymous
        received = {(await bot.next("subscription")).user.name for _ in giftees}
        assert received == {u.login for u in giftees}

        await sim.raid("bigstreamer", 77)
        raid = await bot.next("raid")
        notice = await bot.next("chat_notification", lambda n: n.raid)
        assert (raid.viewer_count, raid.from_broadcaster.name) == (77, "bigstreamer")
        assert notice.raid.viewer_count == 77

        await sim.redeem("alice", "Speak", "read me")
        redemption, message = await bot.next("custom_redemption_add"), await bot.next("message")
        assert (redemption.reward.title, redemption.user_input) == ("Speak", "read me")
        assert message.channel_points_id == redemption.reward.id  # the input shows in chat too

        await sim.follow("gina")
        assert (await bot.next("follow")).user.name == "gina"

        await sim.delete_message(said["message_id"])
        deleted = await bot.next("message_delete")
        assert (deleted.message_id, deleted.user.name) == (said["message_id"], "alice")
        await sim.clear_user("bob")
        assert (await bot.next("chat_clear_user")).user.name == "bob"
        await sim.clear_chat()
        assert (await bot.next("chat_clear")).broadcaster.name == "streamer"


async def test_bot_reply_is_recorded(sim: TwitchSim, tmp_path: Path) -> None:
    async with running_bot(sim, tmp_path, chat_subs()):
        ping = await sim.chat("alice", "!ping")
        sent = await sim.wait_sent_chat(1)
    assert sent[0].pop("message_id")
    assert sent == [
        {"broadcaster_id": "1000", "sender_id": "2000", "message": "pong",
         "reply_parent_message_id": ping["message_id"]},
    ]  # fmt: skip


async def test_session_reconnect_is_survived(sim: TwitchSim, tmp_path: Path) -> None:
    async with running_bot(sim, tmp_path, chat_subs()) as bot:
        posts = sum(r.path == SUBSCRIPTIONS for r in sim.requests)
        old = set(await sim.reconnect())
        await sim.wait_until(lambda: bool(sim.live_sessions) and not old & set(sim.live_sessions))
        await sim.chat("alice", "still there?")
        assert (await bot.next("message")).text == "still there?"
        assert sum(r.path == SUBSCRIPTIONS for r in sim.requests) == posts  # kept, not redone
        assert len(sim.subscriptions) == len(chat_subs())


async def test_dropped_socket_reconnects_and_resubscribes(sim: TwitchSim, tmp_path: Path) -> None:
    async with running_bot(sim, tmp_path, chat_subs()) as bot:
        assert await sim.drop_sockets() == 1
        assert sim.subscriptions == []  # Twitch forgets a lost session's subscriptions
        await sim.wait_until(lambda: len(sim.subscriptions) == len(chat_subs()), timeout=10)
        await sim.chat("alice", "back")
        assert (await bot.next("message")).text == "back"


async def test_silence_past_the_keepalive_makes_twitchio_reconnect(
    sim: TwitchSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TwitchIO clamps its keepalive to >= 10 s (a 15-25 s wait); at 1 s it notices in ~6 s."""
    original = ws_module.Websocket.__init__

    def short_keepalive(self: ws_module.Websocket, **kwargs: Any) -> None:
        original(self, **kwargs)
        self._keep_alive_timeout = 1

    monkeypatch.setattr(ws_module.Websocket, "__init__", short_keepalive)
    async with running_bot(sim, tmp_path, chat_subs()) as bot:
        first = sim.live_sessions
        sim.send_keepalives = False

        def moved_on() -> bool:  # the first session gone, all subscriptions on the new one
            live = sim.live_sessions
            on = [sub["transport"]["session_id"] for sub in sim.subscriptions]
            settled = len(on) == len(chat_subs()) and set(on) <= set(live)
            return bool(live) and first[0] not in live and settled

        await sim.wait_until(moved_on, timeout=12)
        sim.send_keepalives = True
        await sim.chat("alice", "awake?")
        assert (await bot.next("message")).text == "awake?"


async def test_revocation_reaches_the_bot_and_stops_delivery(
    sim: TwitchSim, tmp_path: Path
) -> None:
    async with running_bot(sim, tmp_path, chat_subs()) as bot:
        assert await sim.revoke("channel.chat.message") == 1
        revoked = await bot.next("subscription_revoked")
        assert (revoked.type, revoked.reason.value) == (
            "channel.chat.message",
            "authorization_revoked",
        )
        delivered = len(sim.delivered)
        await sim.chat("alice", "anyone?")
        assert len(sim.delivered) == delivered


async def test_redelivery_and_a_bad_payload(sim: TwitchSim, tmp_path: Path) -> None:
    async with running_bot(sim, tmp_path, chat_subs()) as bot:
        bad = p.chat_message_event(sim.broadcaster, ALICE, "lost")
        del bad["channel_points_animation_id"]
        assert await sim.send_raw("channel.chat.message", bad) == 1  # sent; TwitchIO drops it
        good = p.chat_message_event(sim.broadcaster, ALICE, "twice")
        for _ in range(2):
            await sim.send_raw("channel.chat.message", good, message_id="same-id")
        first, second = await bot.next("message"), await bot.next("message")
        assert (first.text, second.text) == ("twice", "twice")
        assert first.metadata.message_id == second.metadata.message_id == "same-id"


async def test_missing_scope_subscription_is_refused_403(tmp_path: Path) -> None:
    no_bits = SimUser("1000", "streamer", "Streamer", frozenset({"user:read:chat"}))
    async with TwitchSim(broadcaster=no_bits) as sim:
        with pointed_at(sim):
            async with running_bot(sim, tmp_path, chat_subs()) as bot:
                cheer = eventsub.ChannelCheerSubscription(broadcaster_user_id="1000")
                with pytest.raises(twitchio.HTTPException) as refused:
                    await bot.subscribe_websocket(cheer)
    assert refused.value.status == 403
    assert refused.value.extra["message"] == "subscription missing proper authorization"


async def test_expired_token_is_refreshed(sim: TwitchSim, tmp_path: Path) -> None:
    async with running_bot(sim, tmp_path, chat_subs()) as bot:
        sim.expire_token("ttsbot")
        cheermotes = await bot.fetch_cheermotes(broadcaster_id="1000", token_for="2000")
    grants = [r.query["grant_type"] for r in sim.requests if r.path == "/oauth2/token"]
    assert grants == [["client_credentials"], ["refresh_token"]]
    assert [r.status for r in sim.requests if r.path == "/helix/bits/cheermotes"] == [401, 200]
    assert [t.min_bits for t in cheermotes[0].tiers] == [1, 100, 1000, 5000, 10000]


async def test_script_plays_in_order(sim: TwitchSim, tmp_path: Path) -> None:
    script = tmp_path / "demo.yaml"
    script.write_text(
        "- {at: 0.0, do: chat, user: alice, text: hello}\n"
        "- {at: 0.5, do: cheer, user: bob, bits: 100, text: hi}\n"
        "- {at: 1.0, do: delete, user: alice}\n"
        "- {at: 1.5, do: timeout, user: bob}\n"
    )
    async with running_bot(sim, tmp_path, chat_subs()) as bot:
        await sim.play(load_script(script), speed=10)
        hello = await bot.next("message")
        assert (await bot.next("message")).cheer.bits == 100
        assert (await bot.next("message_delete")).message_id == hello.id
        assert (await bot.next("chat_clear_user")).user.name == "bob"


async def test_cli_prints_the_config_and_writes_tokens(tmp_path: Path) -> None:
    tokens = tmp_path / "t.json"
    command = ["-m", "streamer_tts.twitch_sim", "--port", "0", "--tokens", str(tokens)]
    root = Path(__file__).parents[2]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *command, stdout=asyncio.subprocess.PIPE, cwd=root
    )
    assert proc.stdout is not None
    try:
        lines: list[str] = []
        async with asyncio.timeout(15):
            while not lines or "eventsub:" not in lines[-1]:
                lines.append((await proc.stdout.readline()).decode())
        eventsub_url = lines[-1].split("eventsub:")[1].strip()
        assert eventsub_url.startswith("ws://127.0.0.1:") and eventsub_url.endswith("/ws")
        assert oct(tokens.stat().st_mode & 0o777) == "0o600"
        url = "http" + eventsub_url.removeprefix("ws").removesuffix("/ws")
        async with aiohttp.ClientSession() as http:
            assert (await http.get(f"{url}/oauth2/validate")).status == 401  # it serves
    finally:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 10) == 0


def test_every_event_name_has_a_listener_here() -> None:
    names = {_SUB_MAPPING.get(t, t.removeprefix("channel.")) for t in TYPED_EVENTS}
    assert {name.replace(".", "_") for name in names} <= set(EVENTS)
