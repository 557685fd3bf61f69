"""Alert sounds: which sound a message gets, and the config's load-time check."""

from __future__ import annotations

import wave
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from streamer_tts.config import ConfigError, parse_config, to_rules
from streamer_tts.core.alerts import choose_sound
from streamer_tts.core.decisions import Accepted, Priority
from streamer_tts.core.events import ChatTTS, Cheer, Redemption, Source
from streamer_tts.core.rules import DEFAULT_SOURCES, Rules
from streamer_tts.core.tiers import Tier, TierTable
from streamer_tts.sounds import chime, read
from tests.core.helpers import admission, next_id, user

names = st.one_of(st.none(), st.sampled_from(["default", "a.wav", "b.wav"]))


@given(names, names, names)
def test_the_most_specific_sound_set_wins(
    tier: str | None, reward: str | None, source: str | None
) -> None:
    expected = tier or reward or source
    assert choose_sound(tier, reward, source) == expected


def sound_of(decision: object) -> str | None:
    assert isinstance(decision, Accepted), decision
    return decision.message.sound


def test_tier_reward_and_source_sounds_reach_the_message() -> None:
    sources = dict(DEFAULT_SOURCES)
    sources[Source.CHEER] = DEFAULT_SOURCES[Source.CHEER].__class__(sound="cheer.wav")
    rules = Rules(
        sources=sources,
        tiers=TierTable.of(
            [Tier(1000, Priority.URGENT, sound="big.wav"), Tier(100, Priority.NORMAL)]
        ),
        reward_titles=frozenset(),
        reward_sounds={"hydrate": "default"},
    )
    a = admission(rules)
    big = Cheer(id=next_id(), user=user("bob"), amount_bits=1000, message="hi")
    small = Cheer(id=next_id(), user=user("ann"), amount_bits=100, message="hi")
    assert sound_of(a.decide(big, 1)) == "big.wav"
    assert sound_of(a.decide(small, 2)) == "cheer.wav"
    points = Redemption(id=next_id(), user=user("cy"), reward_title="Hydrate ", message="hi")
    assert sound_of(a.decide(points, 3)) == "default"
    plain = Redemption(id=next_id(), user=user("cy"), reward_title="TTS", message="hi")
    assert sound_of(a.decide(plain, 4)) is None
    chat = ChatTTS(id=next_id(), user=user("dee"), message="hello")
    assert sound_of(a.decide(chat, 5)) is None


def problems(text: str) -> list[str]:
    try:
        parse_config(text, env={})
    except ConfigError as e:
        return e.problems
    return []


def test_the_bundled_chime_is_a_short_mono_wav() -> None:
    fmt, data = chime()
    assert fmt.channels == 1 and 0.1 < fmt.seconds(len(data)) < 1.0


def test_sounds_load_into_rules() -> None:
    config = parse_config(
        "tiers: [{min_bits: 100, priority: high, sound: default}]\n"
        "sources:\n  cheer: {sound: default}\n"
        '  redemption: {rewards: {"Hydrate": {sound: default}}}\n',
        env={},
    )
    rules = to_rules(config)
    assert rules.tiers.tiers[0].sound == "default"
    assert rules.sources[Source.CHEER].sound == "default"
    assert rules.reward_sounds == {"hydrate": "default"}


def test_a_missing_or_wrong_sound_is_one_clear_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.wav"
    found = problems(f"sources:\n  cheer: {{sound: {missing}}}\n")
    assert len(found) == 1 and "sources.cheer.sound" in found[0] and "no such file" in found[0]
    text = tmp_path / "x.wav"
    text.write_text("not audio")
    found = problems(f"tiers: [{{min_bits: 1, priority: low, sound: {text}}}]\n")
    assert len(found) == 1 and "tiers.0.sound" in found[0] and "not a readable WAV" in found[0]
    eight = tmp_path / "eight.wav"
    with wave.open(str(eight), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(b"\x80" * 800)
    found = problems(f"sources:\n  raid: {{sound: {eight}}}\n")
    assert len(found) == 1 and "16-bit" in found[0]


def test_a_stereo_wav_is_mixed_to_mono(tmp_path: Path) -> None:
    path = tmp_path / "st.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(
            (1000).to_bytes(2, "little", signed=True) + (3000).to_bytes(2, "little", signed=True)
        )
    fmt, data = read(path)
    assert fmt.channels == 1 and int.from_bytes(data, "little", signed=True) == 2000
