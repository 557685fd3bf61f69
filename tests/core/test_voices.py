"""Voice aliases: which alias reads a message, `!voice`, `!ttsvoice`, inline parts."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from streamer_tts.core.decisions import (
    Accepted,
    Control,
    ControlAction,
    Priority,
    Reason,
    Rejected,
)
from streamer_tts.core.events import (
    ChatTTS,
    Cheer,
    Redemption,
    Role,
    Source,
    UserVoice,
    Voice,
)
from streamer_tts.core.records import SetVoice
from streamer_tts.core.rules import DEFAULT_SOURCES, Rules
from streamer_tts.core.tiers import Tier, TierTable
from streamer_tts.core.voices import (
    INLINE_MAX,
    PER_USER,
    InlineMode,
    VoiceRules,
    choose,
    split_inline,
    spoken_parts,
)
from tests.core.helpers import admission, next_id, user

ALIASES = frozenset({"joe", "joe_slow", "robot", "aria", "google"})
VOICES = VoiceRules(
    aliases=ALIASES,
    default="joe",
    pool=("joe", "joe_slow", "robot"),
    allow={Role.EVERYONE: frozenset({"joe", "joe_slow", "robot"}), Role.SUBSCRIBER: None},
    inline=InlineMode.PAID,
)


def voiced(**changes: object) -> Rules:
    return Rules(voices=replace(VOICES, **changes))


def accepted(decision: object) -> Accepted:
    assert isinstance(decision, Accepted), decision
    return decision


# --- choose: the pure rule ------------------------------------------------------

names = st.sampled_from(sorted(ALIASES | {"ghost", "", "per_user"}))
maybe = st.none() | names
roles = st.sets(st.sampled_from(list(Role)), max_size=2)


@given(
    default=st.sampled_from(sorted(ALIASES | {PER_USER, "ghost"})),
    unavailable=st.sets(st.sampled_from(sorted(ALIASES))),
    chosen=maybe,
    source=maybe,
    override=maybe,
    language=st.none() | st.sampled_from(["de", "fr", "en"]),
    login=st.text("abcdefghij_0123456789", min_size=1, max_size=12),
    held=roles,
)
def test_the_alias_always_exists_and_can_speak(
    default: str,
    unavailable: set[str],
    chosen: str | None,
    source: str | None,
    override: str | None,
    language: str | None,
    login: str,
    held: set[Role],
) -> None:
    rules = replace(
        VOICES, default=default, by_language={"de": "robot", "fr": "ghost"}
    ).with_unavailable(unavailable)
    got = choose(
        rules,
        user(login, *held),
        chosen=chosen,
        source=source,
        override=override,
        language=language,
    )
    if unavailable == ALIASES:
        assert got is None  # nothing can speak: the player's own engines read it
    else:
        assert got in ALIASES and got not in unavailable
    # precedence: whatever can speak, the highest-ranked name wins
    for name in (override, chosen, source):
        if name in ALIASES and name not in unavailable:
            assert got == name
            break


def test_precedence_tier_or_reward_then_viewer_then_source_then_default() -> None:
    alice = user("alice")
    assert choose(VOICES, alice) == "joe"
    assert choose(VOICES, alice, source="aria") == "aria"
    assert choose(VOICES, alice, chosen="robot", source="aria") == "robot"
    assert choose(VOICES, alice, chosen="robot", source="aria", override="google") == "google"


def test_language_routes_only_viewers_without_a_choice() -> None:
    rules = replace(VOICES, by_language={"de": "robot"})
    alice = user("alice")
    assert choose(rules, alice, language="de") == "robot"
    assert choose(rules, alice, language="fr") == "joe"
    assert choose(rules, alice, chosen="joe_slow", language="de") == "joe_slow"


def test_per_user_is_a_stable_pick_from_the_pool() -> None:
    rules = replace(VOICES, default=PER_USER)
    picks = {login: choose(rules, user(login)) for login in (f"viewer{n}" for n in range(40))}
    assert set(picks.values()) == {"joe", "joe_slow", "robot"}  # spread over the pool
    assert all(choose(rules, user(login)) == pick for login, pick in picks.items())
    # an alias that cannot speak is left out of the pool, the others keep theirs
    down = rules.with_unavailable({"robot"})
    for login, pick in picks.items():
        kept = choose(down, user(login))
        assert kept in {"joe", "joe_slow"}
        assert pick == "robot" or kept == pick


def test_an_unavailable_default_falls_back_to_one_that_speaks() -> None:
    assert choose(VOICES.with_unavailable({"joe"}), user("alice")) == "aria"


def test_without_voices_today_the_tier_or_source_voice_name_is_passed_on() -> None:
    assert choose(VoiceRules(), user("alice")) is None
    assert choose(VoiceRules(), user("alice"), source="en-GB", override="x") == "x"


def test_roles_include_what_lower_roles_may_use() -> None:
    assert VOICES.choices(user("alice")) == ("joe", "joe_slow", "robot")
    assert VOICES.choices(user("sub", Role.SUBSCRIBER)) == tuple(sorted(ALIASES))
    assert VOICES.choices(user("mod", Role.MODERATOR)) == tuple(sorted(ALIASES))


# --- inline parts ------------------------------------------------------------------


def test_split_inline_labels_only_usable_aliases() -> None:
    usable = ["robot", "joe"]
    assert split_inline("robot: hello joe: hi", usable) == (("robot", "hello"), ("joe", "hi"))
    assert split_inline("first robot: beep", usable) == ((None, "first"), ("robot", "beep"))
    assert split_inline("aria: not mine", usable) == ()
    assert split_inline("no labels here: at all", usable) == ()
    assert split_inline("ROBOT: loud", usable) == (("robot", "loud"),)


@given(st.lists(st.sampled_from(["robot:", "joe:", "word", "x:"]), max_size=20))
def test_split_inline_never_more_than_the_limit_and_loses_no_word(words: list[str]) -> None:
    text = " ".join(words)
    parts = split_inline(text, ["robot", "joe"])
    assert sum(1 for a, _ in parts if a is not None) <= INLINE_MAX
    if parts:
        said = " ".join(t for _, t in parts).split()
        labels = [w for w in words if w in ("robot:", "joe:")][:INLINE_MAX]
        rest = list(words)
        for label in labels:
            rest.remove(label)
        assert said == rest


def test_inline_in_a_paid_message_reads_each_part_in_its_voice() -> None:
    a = admission(voiced())
    event = Cheer(id=next_id(), user=user("bob"), amount_bits=100, message="robot: hi joe: hello")
    m = accepted(a.decide(event, 0)).message
    m = a.next_message(1)
    assert m is not None
    assert spoken_parts(m) == (
        (None, "Bob cheered 100 bits"),
        ("robot", "hi"),
        ("joe", "hello"),
    )
    # free chat with `inline: paid`: one voice, read as written
    free = accepted(a.decide(ChatTTS(id=next_id(), user=user("al"), message="robot: hi"), 2))
    assert spoken_parts(free.message) == ()
    everyone = admission(voiced(inline=InlineMode.EVERYONE))
    m2 = accepted(everyone.decide(ChatTTS(id=next_id(), user=user("al"), message="robot: hi"), 0))
    assert [a for a, _ in spoken_parts(m2.message)] == [None, "robot"]


# --- admission: the message's alias ------------------------------------------------


def test_accepted_message_carries_its_alias_and_the_viewer_choice_wins_over_the_source() -> None:
    sources = dict(DEFAULT_SOURCES)
    sources[Source.CHAT] = replace(sources[Source.CHAT], voice="aria")
    a = admission(voiced(), sources=sources)
    chat = ChatTTS(id=next_id(), user=user("alice"), message="hi")
    assert accepted(a.decide(chat, 0)).message.voice == "aria"
    assert isinstance(a.decide(Voice(by=user("alice"), alias="robot"), 1), Control)
    chat2 = ChatTTS(id=next_id(), user=user("alice"), message="hi again")
    assert accepted(a.decide(chat2, 2)).message.voice == "robot"


def test_tier_and_reward_voices_win_over_the_viewer() -> None:
    tiers = TierTable.of([Tier(100, Priority.NORMAL, voice="google")])
    a = admission(
        voiced(), tiers=tiers, reward_voices={"robot voice": "aria"}, reward_titles=frozenset()
    )
    a.decide(Voice(by=user("bob"), alias="robot"), 0)
    paid = Cheer(id=next_id(), user=user("bob"), amount_bits=100, message="hi")
    assert accepted(a.decide(paid, 1)).message.voice == "google"
    points = Redemption(id=next_id(), user=user("bob"), reward_title="Robot Voice", message="hi")
    assert accepted(a.decide(points, 2)).message.voice == "aria"
    other = Redemption(id=next_id(), user=user("bob"), reward_title="TTS", message="hi")
    assert accepted(a.decide(other, 3)).message.voice == "robot"


# --- !voice and !ttsvoice ------------------------------------------------------------


def test_voice_sets_lists_and_resets() -> None:
    a = admission(voiced())
    alice = user("alice")
    listing = a.decide(Voice(by=alice), 0)
    assert isinstance(listing, Control) and listing.voice is None and not listing.target
    assert listing.detail == "voices you may use: joe, joe_slow, robot"
    done = a.decide(Voice(by=alice, alias="Robot"), 1)
    assert isinstance(done, Control) and done.action is ControlAction.VOICE
    assert (done.target, done.voice) == ("alice", "robot")
    assert a.voices == {"alice": "robot"}
    assert "yours: robot" in a.decide(Voice(by=alice), 2).detail  # type: ignore[union-attr]
    reset = a.decide(Voice(by=alice, alias="reset"), 3)
    assert isinstance(reset, Control) and reset.voice == ""
    assert a.voices == {}


def test_voice_refusals_change_nothing_and_say_why() -> None:
    a = admission(voiced())
    a.decide(Voice(by=user("alice"), alias="joe"), 0)
    for alias, why in (("aria", "not yours"), ("ghost", "no voice named ghost")):
        refused = a.decide(Voice(by=user("alice"), alias=alias), 1)
        assert isinstance(refused, Rejected) and refused.reason is Reason.NOT_ALLOWED
        assert why in refused.detail
    assert a.voices == {"alice": "joe"}
    down = admission(voiced(unavailable=frozenset({"robot"})))
    refused = down.decide(Voice(by=user("alice"), alias="robot"), 0)
    assert isinstance(refused, Rejected) and "unavailable" in refused.detail
    off = admission()
    refused = off.decide(Voice(by=user("alice"), alias="robot"), 0)
    assert isinstance(refused, Rejected) and refused.reason is Reason.DISABLED


def test_a_moderator_sets_or_resets_a_viewers_voice() -> None:
    a = admission(voiced())
    mod = user("mod", Role.MODERATOR)
    done = a.decide(UserVoice(by=mod, target="@Alice", alias="aria"), 0)
    assert isinstance(done, Control) and (done.target, done.voice) == ("alice", "aria")
    chat = ChatTTS(id=next_id(), user=user("alice"), message="hi")
    assert accepted(a.decide(chat, 1)).message.voice == "aria"  # the mod's pick holds
    a.decide(UserVoice(by=mod, target="alice", alias="reset"), 2)
    assert a.voices == {}
    refused = a.decide(UserVoice(by=user("alice"), target="bob", alias="joe"), 3)
    assert isinstance(refused, Rejected) and refused.reason is Reason.NOT_ALLOWED


def test_voice_changes_are_journal_records() -> None:
    from streamer_tts.core.playback import Playback
    from streamer_tts.core.playback_events import Decided, Record

    a, playback = admission(voiced()), Playback()
    records = []
    for command in (Voice(by=user("alice"), alias="robot"), Voice(by=user("alice"))):
        actions = playback.handle(Decided(a.decide(command, 0)), 0)
        records += [x.op for x in actions if isinstance(x, Record)]
    actions = playback.handle(Decided(a.decide(Voice(by=user("alice"), alias="reset"), 1)), 1)
    records += [x.op for x in actions if isinstance(x, Record)]
    assert records == [SetVoice("alice", "robot"), SetVoice("alice", None)]


def test_restored_choices_are_used() -> None:
    from streamer_tts.core.admission import Admission
    from tests.fakes.gates import FakeGate

    a = Admission(voiced(), FakeGate, voices={"alice": "robot", "bob": "gone"})
    alice = ChatTTS(id=next_id(), user=user("alice"), message="hi")
    bob = ChatTTS(id=next_id(), user=user("bob"), message="hi")
    assert accepted(a.decide(alice, 0)).message.voice == "robot"
    assert accepted(a.decide(bob, 0)).message.voice == "joe"  # a stale alias: the default


commands = st.one_of(
    st.builds(
        lambda who, alias: Voice(by=user(who), alias=alias),
        st.sampled_from(["alice", "bob"]),
        st.sampled_from(sorted(ALIASES | {"ghost", "reset", ""})),
    ),
    st.builds(
        lambda who, alias: UserVoice(by=user("mod", Role.MODERATOR), target=who, alias=alias),
        st.sampled_from(["alice", "bob"]),
        st.sampled_from(sorted(ALIASES | {"ghost", "reset"})),
    ),
    st.builds(
        lambda who, text: ChatTTS(id=next_id(), user=user(who), message=text),
        st.sampled_from(["alice", "bob", "carol"]),
        st.sampled_from(["hi", "robot: beep joe: hi", "aria: hello"]),
    ),
    st.builds(
        lambda who, bits: Cheer(id=next_id(), user=user(who), amount_bits=bits, message="x"),
        st.sampled_from(["alice", "bob"]),
        st.sampled_from([100, 1000]),
    ),
)


@given(
    st.lists(commands, max_size=30),
    st.sets(st.sampled_from(sorted(ALIASES)), max_size=4),
)
def test_every_accepted_message_reads_in_an_alias_that_can_speak(
    events: list[object], unavailable: set[str]
) -> None:
    tiers = TierTable.of(
        [Tier(1000, Priority.URGENT, voice="aria"), Tier(100, Priority.NORMAL, voice="ghost")]
    )
    rules = voiced(inline=InlineMode.EVERYONE).voices.with_unavailable(unavailable)
    a = admission(Rules(voices=rules, tiers=tiers))
    for n, event in enumerate(events):
        decision = a.decide(event, float(n))  # type: ignore[arg-type]
        if isinstance(decision, Accepted):
            m = decision.message
            assert m.voice in ALIASES and m.voice not in unavailable
            if isinstance(event, Cheer) and event.amount_bits >= 1000 and "aria" not in unavailable:
                assert m.voice == "aria"  # the tier's voice wins
            for alias, _ in spoken_parts(m):
                assert alias is None or (alias in ALIASES and alias not in unavailable)
        # a viewer's kept choice is always an alias (a refusal changed nothing)
        assert set(a.voices.values()) <= ALIASES
