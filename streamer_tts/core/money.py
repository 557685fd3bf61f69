"""Money: place a tip in a tier by its value, read it in its own currency.

Tips arrive in many currencies; 25 EUR and 25 JPY are not worth the same, so
each amount is converted to the base currency (`money.base`) with a rate
table before it meets the bit tiers (`sources.api.bits_per_unit` bits per
base unit). What is *spoken* stays in the tip's own currency ("25.00 euros").
Pure and stdlib only: rates are data handed in, nothing is fetched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_RATES",
    "MoneyRules",
    "format_amount",
    "spoken_amount",
    "to_bits",
]

# Value of one unit in US dollars, rounded: close enough to rank tips in
# tiers (a tier boundary is a streamer's round number, not a market price).
DEFAULT_RATES: Mapping[str, float] = {
    "USD": 1.0,
    "EUR": 1.08,
    "GBP": 1.27,
    "JPY": 0.0067,
    "CAD": 0.73,
    "AUD": 0.66,
    "NZD": 0.60,
    "CHF": 1.13,
    "SEK": 0.095,
    "NOK": 0.093,
    "DKK": 0.145,
    "PLN": 0.25,
    "CZK": 0.043,
    "BRL": 0.18,
    "MXN": 0.055,
    "INR": 0.012,
    "KRW": 0.00073,
    "CNY": 0.14,
    "HKD": 0.128,
    "SGD": 0.74,
    "TRY": 0.03,
    "ZAR": 0.055,
}

# (one, many): what a listener hears after the number.
_NAMES: Mapping[str, tuple[str, str]] = {
    "USD": ("dollar", "dollars"),
    "EUR": ("euro", "euros"),
    "GBP": ("pound", "pounds"),
    "JPY": ("yen", "yen"),
    "CAD": ("Canadian dollar", "Canadian dollars"),
    "AUD": ("Australian dollar", "Australian dollars"),
    "NZD": ("New Zealand dollar", "New Zealand dollars"),
    "CHF": ("Swiss franc", "Swiss francs"),
    "SEK": ("Swedish krona", "Swedish kronor"),
    "NOK": ("Norwegian krone", "Norwegian kroner"),
    "DKK": ("Danish krone", "Danish kroner"),
    "PLN": ("zloty", "zloty"),
    "CZK": ("Czech koruna", "Czech korunas"),
    "BRL": ("real", "reais"),
    "MXN": ("Mexican peso", "Mexican pesos"),
    "INR": ("rupee", "rupees"),
    "KRW": ("won", "won"),
    "CNY": ("yuan", "yuan"),
    "HKD": ("Hong Kong dollar", "Hong Kong dollars"),
    "SGD": ("Singapore dollar", "Singapore dollars"),
    "TRY": ("lira", "lira"),
    "ZAR": ("rand", "rand"),
}

# Currencies without minor units in practice: "2500 yen", not "2500.00 yen".
_NO_DECIMALS = frozenset({"JPY", "KRW", "CLP", "ISK", "VND", "IDR", "HUF", "TWD"})


@dataclass(frozen=True, slots=True)
class MoneyRules:
    """`rates[code]` is the value of one unit of `code` in the base currency."""

    rates: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))
    base: str = "USD"

    def __post_init__(self) -> None:
        for code, rate in self.rates.items():
            if not (rate > 0 and math.isfinite(rate)):
                raise ValueError(f"rate of {code} must be a positive number")

    def knows(self, currency: str) -> bool:
        return currency.upper() in self.rates

    def in_base(self, amount: float, currency: str) -> float | None:
        """`amount` of `currency` in base units; None for an unknown currency.

        Dividing by the base's own rate lets a streamer change `base` without
        rewriting a table that was written against another currency.
        """
        rate = self.rates.get(currency.upper())
        if rate is None:
            return None
        base_rate = self.rates.get(self.base.upper(), 1.0)
        return amount * rate / base_rate


def to_bits(amount: float, currency: str, money: MoneyRules, bits_per_unit: float) -> int | None:
    """The tip's worth in bits (what the tiers compare); None if the currency
    is not in the table (the caller places it by its lowest tier)."""
    value = money.in_base(amount, currency)
    if value is None:
        return None
    return round(value * bits_per_unit)


def format_amount(amount: float, currency: str) -> str:
    """The number as written: "25.00", or "2500" for currencies without cents."""
    if currency.upper() in _NO_DECIMALS:
        return f"{amount:.0f}"
    return f"{amount:.2f}"


def spoken_amount(amount: float, currency: str) -> str:
    """ "25.00 euros", "1.00 euro", "2500 yen"; an unnamed currency keeps its code."""
    code = currency.upper()
    number = format_amount(amount, code)
    names = _NAMES.get(code)
    if names is None:
        return f"{number} {code}" if code else number
    one, many = names
    return f"{number} {one if number in ('1', '1.00') else many}"
