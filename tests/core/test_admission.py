"""Admission: every rule of the issue, one decision per event."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamer_tts.core.admission import OnAir
from streamer_tts.core.decisions import Accepted, Control, ControlAction, Priority, Reason, Rejected
from streamer_tts.core.events import (
    Ban,
    ChatTTS,
    Cheer,
    Clear,
    DeleteMessage,
    Donation,
    Follow,
    Fragment,
    FragmentKind,
    GiftSubs,
    PurgeUser,
    QueueQuery,
    Raid,
    Redemption,
    Role,
    Skip,
    Source,
    Subscription,
    SubTier,
    Tip,
    Unban,
    User,
)
from streamer_tts.core.filters import FilterRules, LinkAction, WordAction
from streamer_tts.core.limits import LimitPolicy, RateSpec
from streamer_tts.core.rules import NameMode, Rules, SourceRule
from streamer_tts.core.tiers import Tier, TierTable
from tests.core.helpers import admission, next_id, user


def chat(text: str, who: str = "alice", *roles: Role, id: str | None = None) -> ChatTTS:
    return ChatTTS(id=id or next_id(), user=user(who, *roles), message=text)


def cheer(bits: int, text: str = "", who: str = "bob", id: str | None = None) -> Cheer:
    return Cheer(id=id or next_id(), user=user(who), amount_bits=bits, message=text)


def accepted(decision: object) -> Accepted:
    assert isinstance(decision, Accepted), decision
    return decision


def reason(decision: object) -> Reason:
    assert isinstance(decision, Rejected), decision
    return decision.reason


# --- tiers --------------------------------------------------------------------


def test_bigger_cheer_plays_first_whatever_the_arrival_order() -> None:
    a = admission()
    accepted(a.decide(cheer(100, "small"), 0))
    accepted(a.decide(cheer(1000, "big"), 1))
    accepted(a.decide(cheer(500, "mid"), 2))
    order = [a.next_message(3) for _ in range(3)]
    assert [m.bits for m in order if m] == [1000, 500, 100]
    assert [m.priority for m in order if m] == [Priority.URGENT, Priority.HIGH, Priority.NORMAL]


def test_cheer_below_last_tier_is_too_few_bits() -> None:
    assert reason(admission().decide(cheer(99), 0)) is Reason.TOO_FEW_BITS


def test_donation_converts_at_bits_per_unit() -> None:
    a = admission()
    d = Donation(id="d1", user=user("JohnDoe"), amount=10.0, message="Great stream!")
    m = accepted(a.decide(d, 0)).message
    assert m.priority is Priority.URGENT and m.bits == 1000 and m.source is Source.API
    assert "10.00" in m.text and "Great stream!" in m.text
    small = Donation(id="d2", user=user("x"), amount=0.5)
    assert reason(a.decide(small, 0)) is Reason.TOO_FEW_BITS
    a2 = admission(bits_per_unit=1000.0)
    assert accepted(a2.decide(replace(small, id="d3"), 0)).message.priority is Priority.HIGH


def test_interrupt_tier_marks_the_decision() -> None:
    tiers = TierTable.of([Tier(5000, Priority.URGENT, interrupt=True), Tier(100, Priority.NORMAL)])
    a = admission(tiers=tiers)
    assert accepted(a.decide(cheer(5000), 0)).message.interrupt
    assert not accepted(a.decide(cheer(100), 0)).message.interrupt


def test_requeue_after_interrupt_goes_to_head_of_level() -> None:
    a = admission()
    accepted(a.decide(cheer(100, "one"), 0))
    accepted(a.decide(cheer(100, "two"), 1))
    first = a.next_message(2)
    assert first is not None
    a.requeue(first)
    assert a.next_message(3) is first


# --- sources ------------------------------------------------------------------


def test_every_source_has_its_template_and_priority() -> None:
    a = admission(rules=Rules(sources={**Rules().sources, Source.FOLLOW: SourceRule(True)}))
    events = [
        Subscription(id="s", user=user("sub"), tier=SubTier.TIER3, months=12, message="yay"),
        GiftSubs(id="g", user=user("gifter"), count=5),
        GiftSubs(id="g2", user=user("anon"), count=1, anonymous=True),
        Redemption(id="r", user=user("pts"), reward_title="TTS", message="points talk"),
        Raid(id="raid", user=user("raider"), viewers=42),
        Follow(id="f", user=user("fan")),
    ]
    texts = [accepted(a.decide(e, 0)).message.text for e in events]
    assert texts[0] == "Sub subscribed for 12 months: yay"
    assert texts[1] == "Gifter gifted 5 subs"
    assert texts[2].startswith("An anonymous gifter")
    assert texts[3] == "Pts says: points talk"
    assert "42 viewers" in texts[4]
    assert "Fan" in texts[5]


def test_disabled_source_and_unknown_reward() -> None:
    a = admission()
    assert reason(a.decide(Follow(id="f", user=user("fan")), 0)) is Reason.DISABLED
    other = Redemption(id="r", user=user("x"), reward_title="Hydrate", message="drink")
    assert reason(a.decide(other, 0)) is Reason.DISABLED


def test_cheer_without_text_still_thanks() -> None:
    m = accepted(admission().decide(cheer(500, "Cheer500"), 0)).message
    assert m.text == "Bob cheered 500 bits"


def test_cheermote_fragments_removed() -> None:
    e = Cheer(
        id="x",
        user=user("bob"),
        amount_bits=150,
        message="Party50 Cheer100 hype",
        fragments=(
            Fragment(FragmentKind.CHEERMOTE, "Party50"),
            Fragment(FragmentKind.CHEERMOTE, "Cheer100"),
        ),
    )
    m = accepted(admission().decide(e, 0)).message
    assert m.text == "Bob cheered 150 bits: hype"


def test_emote_fragments_removed() -> None:
    e = ChatTTS(
        id="x",
        user=user("a"),
        message="hello catJAM world",
        fragments=(Fragment(FragmentKind.EMOTE, "catJAM"),),
    )
    assert "catJAM" not in accepted(admission().decide(e, 0)).message.text


# --- users, permissions, filters ----------------------------------------------


def test_duplicate_id_rejected_even_across_sources() -> None:
    a = admission()
    accepted(a.decide(cheer(100, id="same"), 0))
    assert reason(a.decide(cheer(100, id="same"), 1)) is Reason.DUPLICATE


def test_id_still_queued_is_duplicate_after_seen_window() -> None:
    a = admission(limits=LimitPolicy(per_user=None, global_=None, max_pending_per_user=None))
    accepted(a.decide(chat("first", id="keep"), 0))
    a._seen.clear()  # as if "keep" had aged out of the bounded seen window
    assert reason(a.decide(chat("again", id="keep"), 1)) is Reason.DUPLICATE


def test_pending_limit_ignores_paid() -> None:
    a = admission(limits=LimitPolicy(per_user=None, global_=None, max_pending_per_user=1))
    accepted(a.decide(cheer(100, who="bob"), 0))
    accepted(a.decide(chat("free one", "bob"), 0))
    assert reason(a.decide(chat("free two", "bob"), 0)) is Reason.USER_LIMIT


def test_same_cheer_from_two_subscriptions_is_read_once() -> None:
    a = admission()
    chat_side = Cheer(id="chat-1", user=user("bob"), amount_bits=500, via="chat")
    eventsub_side = Cheer(id="es-1", user=user("bob"), amount_bits=500, via="eventsub")
    accepted(a.decide(chat_side, 0))
    assert reason(a.decide(eventsub_side, 2)) is Reason.DUPLICATE
    # two genuine identical cheers, each reported twice: both are read
    accepted(a.decide(replace(chat_side, id="chat-2"), 3))
    accepted(a.decide(replace(chat_side, id="chat-3"), 3))
    assert reason(a.decide(replace(eventsub_side, id="es-2"), 4)) is Reason.DUPLICATE
    assert reason(a.decide(replace(eventsub_side, id="es-3"), 4)) is Reason.DUPLICATE
    # outside the window they are separate payments
    accepted(a.decide(replace(eventsub_side, id="es-4"), 500))


def test_ignored_and_banned_users() -> None:
    a = admission()
    assert reason(a.decide(chat("hi", "Nightbot"), 0)) is Reason.IGNORED_USER
    mod = user("mod", Role.MODERATOR)
    assert isinstance(a.decide(Ban(by=mod, target="@Troll"), 0), Control)
    assert reason(a.decide(chat("hi", "troll"), 0)) is Reason.BANNED_USER
    # a banned user's cheer is still thanked, but their words are not read
    m = accepted(a.decide(cheer(100, "bad words", who="troll"), 0)).message
    assert "bad words" not in m.text and "100 bits" in m.text
    assert isinstance(a.decide(Unban(by=mod, target="troll"), 0), Control)
    accepted(a.decide(chat("hi again", "troll"), 1))


def test_tts_permission() -> None:
    from streamer_tts.core.permissions import Permissions

    a = admission(permissions=Permissions({"tts": Role.SUBSCRIBER}))
    assert reason(a.decide(chat("hi", "pleb"), 0)) is Reason.NOT_ALLOWED
    accepted(a.decide(chat("hi", "subby", Role.SUBSCRIBER), 0))
    accepted(a.decide(chat("hi", "boss", Role.BROADCASTER), 0))


def test_filter_rejections_and_empty() -> None:
    a = admission(
        filters=FilterRules(
            links=LinkAction.DROP, banned_words=("darn",), banned_words_action=WordAction.DROP
        )
    )
    assert reason(a.decide(chat("see https://x.com/a"), 0)) is Reason.LINK
    assert reason(a.decide(chat("oh darn it", "b"), 0)) is Reason.BANNED_WORD
    assert reason(a.decide(chat("   ", "c"), 0)) is Reason.EMPTY
    assert reason(a.decide(chat("<speak></speak>", "d"), 0)) is Reason.EMPTY


def test_paid_message_with_refused_text_is_still_read() -> None:
    a = admission(filters=FilterRules(links=LinkAction.DROP))
    m = accepted(a.decide(cheer(100, "visit https://spam.example/x"), 0)).message
    assert m.text == "Bob cheered 100 bits"


# --- limits -------------------------------------------------------------------


def test_per_user_rate_limit_and_recovery() -> None:
    a = admission(
        limits=LimitPolicy(per_user=RateSpec(2, 10), global_=None, max_pending_per_user=None)
    )
    accepted(a.decide(chat("one"), 0))
    accepted(a.decide(chat("two"), 0))
    assert reason(a.decide(chat("three"), 0)) is Reason.RATE_LIMITED
    accepted(a.decide(chat("other user", "bob"), 0))
    accepted(a.decide(chat("later"), 5.1))  # one unit leaked back


def test_role_override_none_is_unlimited() -> None:
    a = admission(
        limits=LimitPolicy(per_user=RateSpec(1, 60), global_=None, max_pending_per_user=None)
    )
    for i in range(5):
        accepted(a.decide(chat(f"mod says {i}", "mod", Role.MODERATOR), 0))


def test_global_limit() -> None:
    a = admission(
        limits=LimitPolicy(per_user=None, global_=RateSpec(3, 60), max_pending_per_user=None)
    )
    results = [a.decide(chat("hi", f"user{i}"), 0) for i in range(5)]
    assert [isinstance(r, Accepted) for r in results] == [True, True, True, False, False]
    assert reason(results[-1]) is Reason.RATE_LIMITED


def test_pending_per_user() -> None:
    a = admission(limits=LimitPolicy(per_user=None, global_=None, max_pending_per_user=2))
    accepted(a.decide(chat("one"), 0))
    accepted(a.decide(chat("two"), 0))
    assert reason(a.decide(chat("three"), 0)) is Reason.USER_LIMIT
    a.next_message(0)
    accepted(a.decide(chat("four"), 0))


def test_paid_sources_exempt_from_limits() -> None:
    a = admission(
        limits=LimitPolicy(
            per_user=RateSpec(1, 60), global_=RateSpec(1, 60), max_pending_per_user=1
        )
    )
    for _ in range(10):
        accepted(a.decide(cheer(100), 0))


def test_limiter_registry_is_bounded() -> None:
    a = admission(limits=LimitPolicy(max_tracked_users=100, global_=None))
    for i in range(1000):
        a.decide(chat("hello", f"raider{i}"), 0)
        a.next_message(0)
    assert len(a.limits) <= 100


def test_queue_full_and_eviction_reported() -> None:
    a = admission(queue_max_size=2, limits=LimitPolicy(per_user=None, global_=None))
    accepted(a.decide(chat("one", "a"), 0))
    accepted(a.decide(chat("two", "b"), 0))
    assert reason(a.decide(chat("three", "c"), 0)) is Reason.QUEUE_FULL
    d = accepted(a.decide(cheer(100), 0))  # paid evicts the newest free one
    assert d.evicted is not None and d.evicted.user == "b"


# --- commands and moderation --------------------------------------------------


def test_skip_needs_mod_unless_own_message() -> None:
    a = admission()
    accepted(a.decide(chat("mine", "alice"), 0))
    playing = a.next_message(0)
    assert playing is not None
    air = OnAir(playing, {playing.id: playing})
    assert reason(a.decide(Skip(by=user("bob")), 0, air)) is Reason.NOT_ALLOWED
    own = a.decide(Skip(by=user("alice")), 0, air)
    assert isinstance(own, Control) and own.skip_id == playing.id
    assert own.action is ControlAction.SKIP and own.action == "skip"
    by_mod = a.decide(Skip(by=user("mod", Role.MODERATOR)), 0, air)
    assert isinstance(by_mod, Control) and by_mod.skip_id == playing.id


def test_taken_but_unheard_message_is_dropped_by_moderation() -> None:
    a = admission()
    accepted(a.decide(chat("now", "alice", id="n1"), 0))
    accepted(a.decide(chat("next", "troll", id="t1"), 0))
    now = a.next_message(0)
    nxt = a.next_message(0)  # committed behind the playing one
    assert now is not None and nxt is not None
    air = OnAir(now, {now.id: now, nxt.id: nxt})
    d = a.decide(PurgeUser(login="troll"), 0, air)
    assert isinstance(d, Control) and [m.id for m in d.dropped] == ["t1"] and not d.skip_id
    assert d.action is ControlAction.DROP
    assert reason(a.decide(chat("replay", "alice", id="n1"), 0)) is Reason.DUPLICATE


def test_clear_keeps_paid_by_default() -> None:
    a = admission()
    accepted(a.decide(chat("free"), 0))
    accepted(a.decide(cheer(100), 0))
    c = a.decide(Clear(by=user("mod", Role.MODERATOR)), 0)
    assert isinstance(c, Control) and [m.source for m in c.dropped] == [Source.CHAT]
    assert len(a.queue) == 1
    assert reason(a.decide(Clear(by=user("pleb")), 0)) is Reason.NOT_ALLOWED


def test_queue_query_reports_position() -> None:
    a = admission()
    accepted(a.decide(cheer(500), 0))
    accepted(a.decide(chat("me", "alice"), 0))
    q = a.decide(QueueQuery(by=user("alice")), 0)
    assert isinstance(q, Control) and q.detail == "2 waiting; you are #2"


def test_moderation_deletes_and_purges() -> None:
    a = admission()
    accepted(a.decide(chat("bad", "troll", id="t1"), 0))
    accepted(a.decide(chat("good", "alice", id="a1"), 0))
    d = a.decide(DeleteMessage(message_id="t1"), 0)
    assert isinstance(d, Control) and [m.id for m in d.dropped] == ["t1"]
    playing = a.next_message(0)
    assert playing is not None and playing.id == "a1"
    p = a.decide(PurgeUser(login="Alice", reason="ban"), 0, OnAir(playing, {"a1": playing}))
    assert isinstance(p, Control) and p.skip_id == "a1" and p.detail == "ban"


# --- a donor's name is no Twitch login -------------------------------------------


def tip(donor: str, text: str = "for the stream", id: str | None = None) -> Donation:
    return Donation(id=id or next_id("tip"), user=user(donor), amount=25.0, message=text)


def test_a_donor_is_external_whatever_the_adapter_built() -> None:
    assert tip("JohnDoe").user.external
    assert not chat("hi", "johndoe").user.external


def test_a_timeout_of_a_twitch_user_named_like_a_donor_keeps_the_donation() -> None:
    a = admission()
    accepted(a.decide(tip("JohnDoe", id="tip1"), 0))
    accepted(a.decide(chat("hello", "johndoe", id="c1"), 0))
    d = a.decide(PurgeUser(login="johndoe", reason="timeout"), 0)
    assert isinstance(d, Control) and [m.id for m in d.dropped] == ["c1"]
    assert "tip1" in a.queue
    playing = a.next_message(0)
    assert playing is not None and playing.id == "tip1"
    air = OnAir(playing, {playing.id: playing})
    d = a.decide(PurgeUser(login="JohnDoe"), 0, air)
    assert isinstance(d, Control) and not d.skip_id  # the tip playing is not cut


def test_a_provider_tip_is_external_too() -> None:
    sources = dict(Rules().sources)
    sources[Source.STREAMELEMENTS] = replace(sources[Source.STREAMELEMENTS], enabled=True)
    a = admission(sources=sources)
    tipped = Tip.of(Source.STREAMELEMENTS, id="se-1", user=user("StreamElements"), amount=5.0)
    assert tipped.user.external
    accepted(a.decide(tipped, 0))
    d = a.decide(PurgeUser(login="streamelements"), 0)  # also on the ignore list
    assert isinstance(d, Control) and not d.dropped and "se-1" in a.queue


def test_a_tts_ban_of_a_login_does_not_touch_a_donor_of_that_name() -> None:
    a = admission()
    mod = user("mod", Role.MODERATOR)
    assert isinstance(a.decide(Ban(by=mod, target="johndoe"), 0), Control)
    m = accepted(a.decide(tip("JohnDoe", "Great stream!"), 0)).message
    assert "Great stream!" in m.text  # a banned login's cheer would lose its words
    playing = a.next_message(0)
    assert playing is not None
    again = a.decide(Ban(by=mod, target="JohnDoe"), 0, OnAir(playing, {playing.id: playing}))
    assert isinstance(again, Control) and not again.skip_id and not again.dropped
    assert reason(a.decide(chat("hi", "johndoe"), 0)) is Reason.BANNED_USER


def test_a_donor_named_like_a_chatter_gives_that_chatter_no_own_skip() -> None:
    a = admission()
    accepted(a.decide(tip("alice", id="tip2"), 0))
    playing = a.next_message(0)
    assert playing is not None and playing.id == "tip2"
    air = OnAir(playing, {playing.id: playing})
    assert reason(a.decide(Skip(by=user("alice")), 0, air)) is Reason.NOT_ALLOWED
    accepted(a.decide(tip("bob"), 0))
    q = a.decide(QueueQuery(by=user("bob")), 0)
    assert isinstance(q, Control) and q.detail == "1 waiting"


def test_a_donor_name_is_cleaned_as_a_field_and_as_speech() -> None:
    a = admission(filters=FilterRules(banned_words=("darn",)))
    donor = User("x", "Dar\u202en\x1b [[ bˈæd ]] <break time='9s'/>Fan")
    m = accepted(a.decide(Donation(id="tip-x", user=donor, amount=5.0), 0)).message
    assert m.name == "bleep Fan"
    m = accepted(a.decide(tip("  d a r n  "), 0)).message
    assert m.name == "bleep"


def test_read_usernames_on_change() -> None:
    a = admission(
        read_usernames=NameMode.ON_CHANGE,
        limits=LimitPolicy(per_user=None, global_=None, max_pending_per_user=None),
    )
    for text, who in [("one", "alice"), ("two", "alice"), ("three", "bob")]:
        accepted(a.decide(chat(text, who), 0))
    spoken = [a.next_message(0).spoken for _ in range(3)]  # type: ignore[union-attr]
    assert spoken == ["Alice says: one", "two", "Bob says: three"]


@pytest.mark.parametrize(
    "mode,expected", [(NameMode.ALWAYS, "Alice says: x"), (NameMode.NEVER, "x")]
)
def test_read_usernames_modes(mode: NameMode, expected: str) -> None:
    a = admission(read_usernames=mode)
    accepted(a.decide(chat("x"), 0))
    assert a.next_message(0).spoken == expected  # type: ignore[union-attr]


# --- the one-decision property ------------------------------------------------

events = st.one_of(
    st.builds(
        lambda t, w, i: chat(t, w, id=f"c{i}"),
        st.text(max_size=80),
        st.sampled_from(["alice", "bob", "nightbot", "carol"]),
        st.integers(0, 40),
    ),
    st.builds(
        lambda b, t, i: cheer(b, t, id=f"b{i}"),
        st.integers(1, 3000),
        st.text(max_size=40),
        st.integers(0, 40),
    ),
    st.builds(lambda w: Skip(by=user(w)), st.sampled_from(["alice", "mod"])),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(events, max_size=60))
def test_every_event_gets_exactly_one_decision(script: list) -> None:
    a = admission(queue_max_size=5)
    for now, event in enumerate(script):
        d = a.decide(event, float(now))
        assert isinstance(d, Accepted | Rejected | Control)
        if isinstance(d, Rejected):
            assert d.reason in Reason
        if isinstance(d, Accepted):
            assert d.message.text and "<" not in d.message.text
        if now % 4 == 0:
            a.next_message(float(now))


def test_kind_labels_for_captions() -> None:
    a = admission()
    kinds = [
        accepted(a.decide(cheer(500), 0)).message.meta["kind"],
        accepted(a.decide(Subscription(id="s", user=user("s"), months=12), 0)).message.meta["kind"],
        accepted(a.decide(GiftSubs(id="g", user=user("g"), count=5), 0)).message.meta["kind"],
        accepted(a.decide(Donation(id="d", user=user("d"), amount=25.0), 0)).message.meta["kind"],
    ]
    assert kinds == ["cheer 500", "resub 12 months", "gift 5 subs", "tip 25.00 USD"]


def test_withdraw_undoes_an_acceptance_so_a_retry_is_queued_once() -> None:
    a = admission(queue_max_size=1, limits=LimitPolicy(per_user=None, global_=None))
    free = accepted(a.decide(chat("free", "a", id="f1"), 0)).message
    tip = accepted(a.decide(cheer(100, "tip", id="t1"), 0))
    assert tip.evicted is free
    a.withdraw(tip.message.id, tip.evicted)  # its journal write failed: the API answers 503
    assert [m.id for m in a.queue] == ["f1"]
    again = accepted(a.decide(cheer(100, "tip", id="t1"), 1))  # the retry is not a duplicate
    assert again.message.id == tip.message.id
    assert [m.id for m in a.queue].count(tip.message.id) == 1
