"""The `voices:` config: the issue's example loads, wrong names are one clear line."""

from __future__ import annotations

import pytest

from streamer_tts.config import ConfigError, parse_config, to_rules
from streamer_tts.core.events import Role
from streamer_tts.core.voices import InlineMode

EXAMPLE = """
voices:
  default: joe
  pool: [joe, joe_slow, robot]
  aliases:
    joe:      {engine: piper}
    joe_slow: {engine: piper, length_scale: 1.25}
    robot:    {engine: espeak, voice: en-us, rate: 170}
    aria:     {engine: azure, voice: en-US-AriaNeural}
    google:   {engine: gtts, lang: en, tld: com}
  allow:
    everyone: [joe, joe_slow, robot]
    subscriber: all
  by_language: {}
  inline: paid
tiers:
  - {min_bits: 1000, priority: urgent, voice: aria}
  - {min_bits: 100, priority: normal}
sources:
  chat: {voice: joe_slow}
  redemption:
    rewards: {"TTS": {}, "Robot voice": {voice: robot}}
"""


def problems(text: str) -> list[str]:
    try:
        parse_config(text, env={})
    except ConfigError as e:
        return e.problems
    raise AssertionError("accepted")


def test_the_example_loads_into_core_rules() -> None:
    rules = to_rules(parse_config(EXAMPLE, env={}))
    v = rules.voices
    assert v.enabled and v.default == "joe" and v.inline is InlineMode.PAID
    assert v.aliases == {"joe", "joe_slow", "robot", "aria", "google"}
    assert v.allow == {Role.EVERYONE: {"joe", "joe_slow", "robot"}, Role.SUBSCRIBER: None}
    assert rules.reward_titles == {"tts", "robot voice"}
    assert rules.reward_voices == {"robot voice": "robot"}
    assert rules.tiers.tiers[0].voice == "aria"


def test_a_bare_off_is_off_not_false() -> None:
    config = parse_config("voices:\n  aliases: {joe: {engine: piper}}\n  inline: off\n", env={})
    assert config.voices is not None and config.voices.inline == "off"


def test_the_shipped_commented_voices_section_is_valid() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "config.yaml").read_text()
    head, _, tail = text.partition("# voices:")
    section = "voices:" + "\n".join(line.removeprefix("#") for line in tail.splitlines())
    config = parse_config(
        head + section, env={"TWITCH_CLIENT_ID": "a", "TWITCH_CLIENT_SECRET": "b"}
    )
    assert config.voices is not None and "robot" in config.voices.aliases


def test_without_a_voices_section_nothing_changes() -> None:
    rules = to_rules(parse_config("", env={}))
    assert not rules.voices.enabled and rules.reward_voices == {}


@pytest.mark.parametrize(
    "snippet,expected",
    [
        ("voices:\n  aliases: {}\n", "voices.aliases"),
        ("voices:\n  aliases: {joe: {engine: pipr}}\n", "voices.aliases.joe.engine"),
        (
            "voices:\n  aliases: {joe: {engine: piper, rate: 170}}\n",
            "rate is not a piper setting (allowed: length_scale, noise_scale, speaker)",
        ),
        ("voices:\n  default: bob\n  aliases: {joe: {engine: piper}}\n", "unknown voice 'bob'"),
        (
            "voices:\n  aliases: {joe: {engine: piper}}\n  allow: {everyone: [robot]}\n",
            "allow.everyone: unknown voice 'robot'",
        ),
        (
            "voices:\n  aliases: {joe: {engine: piper}}\n"
            "tiers:\n  - {min_bits: 100, priority: normal, voice: robot}\n",
            "tiers.0.voice: unknown voice 'robot' (aliases: joe)",
        ),
        (
            "voices:\n  aliases: {joe: {engine: piper}}\n"
            "sources:\n  redemption:\n    rewards: {X: {voice: robot}}\n",
            "sources.redemption.rewards.X.voice: unknown voice 'robot'",
        ),
        ("voices:\n  aliases: {joe: {engine: piper}}\n  inline: all\n", "voices.inline"),
        ("commands:\n  voice: {name: tts, allow: everyone}\n", "share the name"),
    ],
)
def test_bad_voices_are_one_clear_line(snippet: str, expected: str) -> None:
    found = problems(snippet)
    assert any(expected in p for p in found), found
