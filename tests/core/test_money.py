"""Money: tips placed in tiers by value, spoken in their own currency."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamer_tts.config import Config
from streamer_tts.config.convert import to_rules
from streamer_tts.core.decisions import Accepted, Priority, Rejected
from streamer_tts.core.events import Donation, Source, Tip, User
from streamer_tts.core.money import (
    DEFAULT_RATES,
    MoneyRules,
    format_amount,
    spoken_amount,
    to_bits,
)
from tests.core.helpers import admission, next_id


def test_25_eur_and_25_jpy_are_worth_different_bits() -> None:
    money = MoneyRules()
    assert to_bits(25, "EUR", money, 100) == 2700
    assert to_bits(25, "JPY", money, 100) == 17
    assert to_bits(25, "USD", money, 100) == 2500
    assert to_bits(1, "usd", money, 100) == 100  # codes are case-blind
    assert to_bits(5, "XYZ", money, 100) is None


def test_another_base_divides_by_its_own_rate() -> None:
    money = MoneyRules(rates=dict(DEFAULT_RATES), base="EUR")
    assert to_bits(1.08, "USD", money, 100) == 100  # 1.08 dollars = 1 euro
    assert to_bits(10, "EUR", money, 100) == 1000


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError):
        MoneyRules(rates={"USD": 0.0})
    with pytest.raises(ValueError):
        MoneyRules(rates={"USD": float("nan")})


def test_spoken_in_its_own_currency() -> None:
    assert spoken_amount(25, "EUR") == "25.00 euros"
    assert spoken_amount(1, "EUR") == "1.00 euro"
    assert spoken_amount(5, "USD") == "5.00 dollars"
    assert spoken_amount(2500, "JPY") == "2500 yen"
    assert spoken_amount(12.5, "XAU") == "12.50 XAU"  # no name: the code itself
    assert format_amount(3, "KRW") == "3"


amounts = st.floats(min_value=0.01, max_value=1e6, allow_nan=False)
codes = st.sampled_from(sorted(DEFAULT_RATES))


@given(amounts, amounts, codes)
def test_more_money_in_one_currency_is_never_fewer_bits(a: float, b: float, code: str) -> None:
    low, high = sorted((a, b))
    money = MoneyRules()
    assert to_bits(low, code, money, 100) <= to_bits(high, code, money, 100)  # type: ignore[operator]


@given(amounts, codes, st.sampled_from(["USD", "EUR", "GBP", "JPY"]))
def test_the_base_only_rescales(amount: float, code: str, base: str) -> None:
    """Changing the base with the same table keeps every tip's worth in dollars."""
    usd = MoneyRules(base="USD").in_base(amount, code)
    other = MoneyRules(base=base).in_base(amount, code)
    assert usd is not None and other is not None
    assert other * DEFAULT_RATES[base] == pytest.approx(usd, rel=1e-9)


def _tip(source: Source, amount: float, currency: str, **kw: object) -> Tip:
    return Tip.of(
        source,
        id=next_id("tip"),
        user=User("fan", "Fan"),
        amount=amount,
        currency=currency,
        **kw,
    )


def test_admission_places_tips_by_value_and_labels_the_provider() -> None:
    rules = to_rules(
        Config.model_validate(
            {
                "sources": {
                    "streamelements": {"enabled": True, "token": "t"},
                    "kofi": {"enabled": True, "verification_token": "v"},
                }
            }
        )
    )
    a = admission(rules)
    eur = a.decide(_tip(Source.STREAMELEMENTS, 25, "EUR", message="hi"), 0.0)
    assert isinstance(eur, Accepted)
    assert eur.message.priority is Priority.URGENT and eur.message.bits == 2700
    assert eur.message.text == "Fan tipped 25.00 euros: hi"
    assert eur.message.meta["kind"] == "tip 25.00 EUR via StreamElements"
    assert eur.message.source is Source.STREAMELEMENTS and eur.message.paid
    jpy = a.decide(_tip(Source.STREAMELEMENTS, 25, "JPY"), 0.0)
    assert isinstance(jpy, Rejected) and jpy.reason == "too_few_bits"
    big_jpy = a.decide(_tip(Source.STREAMELEMENTS, 1000, "JPY"), 0.0)
    assert isinstance(big_jpy, Accepted) and big_jpy.message.priority is Priority.HIGH
    private = a.decide(_tip(Source.KOFI, 5, "USD", private=True, message="secret words"), 0.0)
    assert isinstance(private, Accepted)
    assert private.message.text == "Someone tipped 5.00 dollars"
    assert "secret" not in private.message.text and "Fan" not in private.message.text
    off = a.decide(_tip(Source.STREAMLABS, 25, "EUR"), 0.0)
    assert isinstance(off, Rejected) and off.reason == "disabled"


def test_unknown_currency_is_placed_by_the_lowest_tier() -> None:
    a = admission()
    d = a.decide(Donation(id=next_id(), user=User("fan"), amount=1_000_000, currency="XYZ"), 0.0)
    assert isinstance(d, Accepted)
    assert d.message.priority is Priority.NORMAL and d.message.bits == 100


def test_config_rates_override_and_fill_from_the_defaults() -> None:
    rules = to_rules(Config.model_validate({"money": {"base": "EUR", "rates": {"GBP": 1.2}}}))
    assert rules.money.rates["GBP"] == 1.2
    assert rules.money.rates["EUR"] == 1.0
    assert rules.money.rates["USD"] == pytest.approx(1 / 1.08)
    with pytest.raises(ValueError, match="currency code"):
        Config.model_validate({"money": {"rates": {"euro": 1.0}}})
    with pytest.raises(ValueError, match="no rate"):
        Config.model_validate({"money": {"base": "XAU"}})
    with pytest.raises(ValueError, match=r"streamlabs\.token is not set"):
        Config.model_validate({"sources": {"streamlabs": {"enabled": True}}})
