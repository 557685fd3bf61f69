"""Pronunciations and nicknames: whole words only, filtered edits, used where read."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from streamer_tts.core.decisions import Accepted, Control, ControlAction, Reason, Rejected
from streamer_tts.core.events import (
    ChatTTS,
    Cheer,
    Donation,
    Nick,
    Role,
    Say,
    SelfNick,
    Unsay,
    User,
)
from streamer_tts.core.filters import FilterRules, clean
from streamer_tts.core.nicknames import Lexicon
from streamer_tts.core.pronounce import Pronunciations, clean_entry, term_key
from streamer_tts.core.rules import NameMode
from tests.core.helpers import admission, next_id, user

MOD = user("mod", Role.MODERATOR)

# --- the replacement ------------------------------------------------------------


def test_whole_words_any_case() -> None:
    p = Pronunciations({"xqc": "ex queue see", "GG": "good game"})
    assert p.apply("XQC said gg, Gg! eggs ggs xqcow") == (
        "ex queue see said good game, good game! eggs ggs xqcow"
    )
    assert p.apply("don't gg's") == "don't gg's"  # an apostrophe keeps the word whole


def test_bad_terms_are_not_words() -> None:
    assert term_key("two words") is None
    assert term_key("") is None
    assert term_key("x" * 41) is None
    assert term_key("  XqC ") == "xqc"
    assert term_key("ﬁne") == "fine"  # NFKC, as the filters leave text


WORD = st.text(alphabet="abcXYZ_1é", min_size=1, max_size=6)
SEP = st.sampled_from([" ", ", ", "! ", "-", ".", "  ", "?"])


@settings(max_examples=300)
@given(
    words=st.lists(WORD, max_size=30),
    seps=st.lists(SEP, min_size=31, max_size=31),
    table=st.dictionaries(WORD, st.text(alphabet="qrs ", min_size=1, max_size=8), max_size=6),
)
def test_property_only_whole_words_change(
    words: list[str], seps: list[str], table: dict[str, str]
) -> None:
    text = "".join(w + s for w, s in zip(words, seps, strict=False))
    p = Pronunciations(table)
    got = p.apply(text)
    keys = {k.casefold(): " ".join(v.split()) for k, v in table.items() if v.strip()}
    expected = "".join(keys.get(w.casefold(), w) + s for w, s in zip(words, seps, strict=False))
    assert got == expected  # each separator ends a word: word by word


@settings(max_examples=200)
@given(inner=WORD, left=st.text(alphabet="abc1_", min_size=1, max_size=3))
def test_property_never_inside_another_word(inner: str, left: str) -> None:
    p = Pronunciations({inner: "ZZZ"})
    for text in (left + inner, inner + left, left + inner + left):
        if text.casefold() == inner.casefold():
            continue
        assert p.apply(text) == text


def test_linear_time() -> None:
    p = Pronunciations({f"w{i}": f"r{i}" for i in range(2_000)})
    small = "w1 x " * 2_000
    big = small * 10
    t0 = time.thread_time()  # CPU time: a loaded machine does not inflate it
    p.apply(small)
    t1 = time.thread_time()
    p.apply(big)
    t2 = time.thread_time()
    assert p.apply("w1 x") == "r1 x"
    assert (t2 - t1) < 40 * max(t1 - t0, 1e-4)  # ~10x, with a loaded machine's margin


# --- entries through the filters -----------------------------------------------


def test_entries_are_filtered() -> None:
    rules = FilterRules(banned_words=("darn",))
    assert clean_entry("[[ bˈædwɜːd ]] ok", rules, 80).text == "ok"
    assert clean_entry("<speak>hi</speak>", rules, 80).text == "hi"
    assert clean_entry("darn it", rules, 80).reason is Reason.BANNED_WORD
    assert clean_entry("see x.com", rules, 80).reason is Reason.LINK
    assert clean_entry(" ".join(f"w{i}" for i in range(40)), rules, 80).reason is Reason.NOT_ALLOWED
    assert clean_entry("[[ ]]", rules, 80).reason is Reason.EMPTY


@settings(max_examples=200)
@given(respelling=st.text(max_size=60))
def test_property_a_respelling_never_carries_control_syntax(respelling: str) -> None:
    lex = Lexicon()
    a = admission()
    decision = lex.command(Say(by=MOD, term="word", respelling=respelling + " x"), a.rules)
    spoken = lex.speak("a word here", a.rules)
    for bad in "<>[]":
        assert bad not in spoken
    if isinstance(decision, Control):
        assert clean(decision.value, a.rules.filters).text == decision.value


# --- in admission --------------------------------------------------------------


def chat(text: str, who: str = "alice", *roles: Role) -> ChatTTS:
    return ChatTTS(id=next_id(), user=user(who, *roles), message=text)


def spoken(a, now: float = 1.0) -> str:  # type: ignore[no-untyped-def]
    m = a.next_message(now)
    assert m is not None
    return m.spoken


def test_say_changes_what_is_spoken_not_what_is_shown() -> None:
    a = admission(read_usernames=NameMode.NEVER)
    assert isinstance(a.decide(chat("gg xqc"), 0), Accepted)
    d = a.decide(Say(by=MOD, term="XQC", respelling="ex queue see"), 0)
    assert isinstance(d, Control) and d.action is ControlAction.SAY
    assert (d.target, d.value) == ("xqc", "ex queue see")
    m = a.next_message(1)
    assert m is not None and m.spoken == "gg ex queue see" and m.text.endswith("gg xqc")
    # a message is spoken as respelled from its acceptance (a prefetch reads it early)
    waiting = accepted(a.decide(chat("xqc too", "carol"), 1))
    assert waiting.spoken == "Carol says: ex queue see too"  # the name is chosen at the pop
    assert isinstance(a.decide(Unsay(by=MOD, term="xqc"), 2), Control)
    a.decide(chat("xqc again", "bob"), 2)
    assert spoken(a, 3) == "xqc too"  # an edit applies to what waits, at its pop
    assert spoken(a, 3) == "xqc again"


def test_config_pronunciations_and_unsay_hides_them() -> None:
    a = admission(read_usernames=NameMode.NEVER, pronunciations={"Gif": "jif [[x]]"})
    a.decide(chat("a gif"), 0)
    assert spoken(a) == "a jif"  # the config's respelling is filtered too
    a.decide(Unsay(by=MOD, term="gif"), 1)
    a.decide(chat("a gif", "bob"), 1)
    assert spoken(a, 2) == "a gif"


def test_lexicon_commands_need_their_role() -> None:
    a = admission()
    viewer = user("pleb")
    d = a.decide(Say(by=viewer, term="x", respelling="y"), 0)
    assert isinstance(d, Rejected) and d.reason is Reason.NOT_ALLOWED
    d = a.decide(Nick(by=viewer, target="bob", nickname="Bobby"), 0)
    assert isinstance(d, Rejected) and d.reason is Reason.NOT_ALLOWED
    d = a.decide(Say(by=MOD, term="two words", respelling="y"), 0)
    assert isinstance(d, Rejected)


def test_nickname_fills_user_in_every_template() -> None:
    a = admission(read_usernames=NameMode.ALWAYS)
    d = a.decide(Nick(by=MOD, target="@Bob", nickname="Robert <b>the</b> Great"), 0)
    assert isinstance(d, Control) and d.value == "Robert the Great" and d.target == "bob"
    m = accepted(a.decide(chat("hi", "bob"), 0))
    assert m.text == "Robert the Great says: hi" and m.name == "Robert the Great"
    m = accepted(a.decide(Cheer(id=next_id(), user=user("bob"), amount_bits=100), 0))
    assert m.text.startswith("Robert the Great cheered 100 bits")
    d = a.decide(Nick(by=MOD, target="bob", nickname="reset"), 0)
    assert isinstance(d, Control) and d.value == ""
    assert accepted(a.decide(chat("hi", "bob"), 1)).text == "Bob says: hi"


def test_nickname_never_matches_an_outside_name() -> None:
    a = admission()
    a.decide(Nick(by=MOD, target="bob", nickname="Robert"), 0)
    donor = User("bob", "bob", external=True)
    d = a.decide(Donation(id=next_id(), user=donor, amount=5.0, message="hi"), 0)
    assert isinstance(d, Accepted) and "Robert" not in d.message.text


def test_self_nick_is_off_by_default_and_filtered() -> None:
    a = admission()
    me = user("carol")
    d = a.decide(SelfNick(by=me, target="carol", nickname="Caz"), 0)
    assert isinstance(d, Rejected) and d.reason is Reason.DISABLED
    a = admission(self_nicknames=True, filters=FilterRules(banned_words=("darn",)))
    d = a.decide(SelfNick(by=me, target="carol", nickname="darn it"), 0)
    assert isinstance(d, Rejected) and d.reason is Reason.BANNED_WORD
    d = a.decide(SelfNick(by=me, target="carol", nickname="Caz"), 0)
    assert isinstance(d, Control) and d.action is ControlAction.SELF_NICK
    assert accepted(a.decide(chat("yo", "carol"), 0)).name == "Caz"


@settings(max_examples=150)
@given(nickname=st.text(max_size=60), login=st.sampled_from(["bob", "carol"]))
def test_property_nickname_is_filtered_and_used(nickname: str, login: str) -> None:
    a = admission(read_usernames=NameMode.ALWAYS)
    d = a.decide(Nick(by=MOD, target=login, nickname=nickname + "x"), 0)
    m = accepted(a.decide(chat("hi", login), 0))
    if isinstance(d, Control) and d.value:
        assert m.name == d.value and m.text.startswith(d.value.lstrip(" :,;-"))  # render trims
        assert clean(d.value, a.rules.filters).text == d.value
        assert len(d.value) <= a.rules.name_max_length
    else:
        assert m.name == login.title()


def test_unprompted_chat_skips_the_tts_permission() -> None:
    from streamer_tts.core.permissions import Permissions

    a = admission(permissions=Permissions({"tts": Role.SUBSCRIBER}))
    d = a.decide(ChatTTS(id=next_id(), user=user("pleb"), message="hi", unprompted=True), 0)
    assert isinstance(d, Accepted)
    d = a.decide(chat("hi", "pleb2"), 0)
    assert isinstance(d, Rejected) and d.reason is Reason.NOT_ALLOWED


def test_lexicon_restored_from_saved_state() -> None:
    lex = Lexicon({"xqc": "ex queue see", "gif": ""}, {"bob": "Robert"})
    a = admission(pronunciations={"gif": "jif"}, read_usernames=NameMode.ALWAYS)
    a.lexicon = lex
    a.decide(chat("xqc gif", "bob"), 0)
    assert spoken(a) == "Robert says: ex queue see gif"


def accepted(decision: object):  # type: ignore[no-untyped-def]
    assert isinstance(decision, Accepted), decision
    return decision.message
