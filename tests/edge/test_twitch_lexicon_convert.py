"""Chat lines -> lexicon commands and read-all chat, through TwitchIO's own models."""

from __future__ import annotations

from typing import Any

from twitchio.http import HTTPClient
from twitchio.models.eventsub_ import create_event_instance

from streamer_tts.core.events import ChatTTS, Nick, Role, Say, SelfNick, Unsay
from streamer_tts.twitch import convert
from streamer_tts.twitch_sim import SimUser
from streamer_tts.twitch_sim import payloads as p

STREAMER = SimUser("1000", "streamer", "Streamer")
VIEWER = SimUser("3001", "viewer", "Viewer")
COMMANDS = {
    "tts": "tts",
    "ttssay": "say",
    "ttsunsay": "unsay",
    "ttsnick": "nick",
    "nick": "self_nick",
}


def chat(text: str, badges: tuple[str, ...] = ()) -> Any:
    event = p.chat_message_event(STREAMER, VIEWER, text, badges=badges)
    version = p.SUBSCRIPTION_RULES["channel.chat.message"].version
    sub = p.subscription_object("s1", "channel.chat.message", version, {}, "sess", p.timestamp())
    return create_event_instance(
        "channel.chat.message", p.notification_message(sub, event), http=HTTPClient(client_id="x")
    )


def test_lexicon_commands() -> None:
    say = convert.chat_event(chat("!ttssay XQC ex queue see"), COMMANDS)
    assert isinstance(say, Say) and (say.term, say.respelling) == ("XQC", "ex queue see")
    unsay = convert.chat_event(chat("!TTSUNSAY xqc"), COMMANDS)
    assert isinstance(unsay, Unsay) and unsay.term == "xqc"
    nick = convert.chat_event(chat("!ttsnick @Bob Robert the Great"), COMMANDS)
    assert isinstance(nick, Nick) and (nick.target, nick.nickname) == ("bob", "Robert the Great")
    own = convert.chat_event(chat("!nick Vee"), COMMANDS)
    assert isinstance(own, SelfNick) and (own.target, own.nickname) == ("viewer", "Vee")
    for incomplete in ("!ttssay xqc", "!ttsunsay", "!ttsnick bob", "!nick"):
        assert convert.chat_event(chat(incomplete), COMMANDS) is None


def test_read_all_mode() -> None:
    everyone = frozenset({Role.EVERYONE})
    assert convert.chat_event(chat("hello there"), COMMANDS) is None  # command mode
    event = convert.chat_event(chat("hello there"), COMMANDS, "!", everyone)
    assert isinstance(event, ChatTTS) and event.unprompted and event.message == "hello there"
    # commands are never read, ours or another bot's
    assert convert.chat_event(chat("!discord"), COMMANDS, "!", everyone) is None
    tts = convert.chat_event(chat("!tts hi"), COMMANDS, "!", everyone)
    assert isinstance(tts, ChatTTS) and not tts.unprompted
    subs = frozenset({Role.SUBSCRIBER, Role.VIP})
    assert convert.chat_event(chat("plain"), COMMANDS, "!", subs) is None
    event = convert.chat_event(chat("from a sub", ("subscriber",)), COMMANDS, "!", subs)
    assert isinstance(event, ChatTTS) and event.unprompted
