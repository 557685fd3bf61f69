"""Names and titles from Twitch are cleaned before the core, the log or a voice sees them.

Payloads are the simulator's, parsed by TwitchIO's own models, as in the bot.
"""

from __future__ import annotations

from typing import Any

from twitchio.http import HTTPClient
from twitchio.models.eventsub_ import create_event_instance

from streamer_tts.core.events import Ban, ChatTTS, PurgeUser, Redemption
from streamer_tts.twitch import convert
from streamer_tts.twitch_sim import SimUser
from streamer_tts.twitch_sim import payloads as p

STREAMER = SimUser("1000", "streamer", "Streamer")
HOSTILE = SimUser("3001", "EvilUser\u202e", "Evil\u202eUser\x1b[31m\nRED\u200b")
COMMANDS = {"tts": "tts", "ttsban": "ban"}


def parse(sub_type: str, event: dict[str, Any]) -> Any:
    version = p.SUBSCRIPTION_RULES[sub_type].version
    sub = p.subscription_object("s1", sub_type, version, {}, "sess", p.timestamp())
    return create_event_instance(
        sub_type, p.notification_message(sub, event), http=HTTPClient(client_id="x")
    )


def test_chat_user_is_cleaned_and_lowercased() -> None:
    message = parse("channel.chat.message", p.chat_message_event(STREAMER, HOSTILE, "!tts hi"))
    event = convert.chat_event(message, COMMANDS)
    assert isinstance(event, ChatTTS)
    assert event.user.login == "eviluser"
    assert event.user.name == "EvilUser[31m RED"


def test_reward_title_and_purged_login_are_cleaned() -> None:
    reward = {"id": "r1", "title": "TTS\u202e\x07 please\n", "cost": 100, "prompt": ""}
    added = p.redemption_add_event(STREAMER, HOSTILE, reward, "read me")
    kind = "channel.channel_points_custom_reward_redemption.add"
    redemption = convert.redemption_event(parse(kind, added))
    assert isinstance(redemption, Redemption)
    assert redemption.reward_title == "TTS please"
    assert redemption.user.login == "eviluser"
    cleared = parse(
        "channel.chat.clear_user_messages", p.clear_user_messages_event(STREAMER, HOSTILE)
    )
    purge = convert.clear_user_event(cleared)
    assert isinstance(purge, PurgeUser) and purge.login == "eviluser"


def test_ban_target_is_a_clean_login() -> None:
    mod = SimUser("3002", "mod", "Mod")
    text = "!ttsban @Troll\u202eUser"
    message = parse(
        "channel.chat.message", p.chat_message_event(STREAMER, mod, text, badges=["moderator"])
    )
    ban = convert.chat_event(message, COMMANDS)
    assert isinstance(ban, Ban) and ban.target == "trolluser"
