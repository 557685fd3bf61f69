from hypothesis import given
from hypothesis import strategies as st

from streamer_tts.core.fields import clean_field, is_currency_code


def test_escapes_and_bidi_are_removed() -> None:
    assert clean_field("\x1b[2JJohn\x1b]0;pwned\x07Doe") == "[2JJohn]0;pwnedDoe"
    assert clean_field("\u202eevil\u202c name") == "evil name"
    assert clean_field("  a\n\tb  ") == "a b"


def test_length_is_capped() -> None:
    assert clean_field("x" * 500, 10) == "x" * 10


@given(st.text())
def test_never_holds_control_characters(text: str) -> None:
    out = clean_field(text)
    assert len(out) <= 64
    assert all(ch == " " or ch.isprintable() for ch in out)
    assert clean_field(out) == out


def test_currency_codes() -> None:
    assert is_currency_code("USD")
    for bad in ("usd", "US", "USDT", "[[x]]", "ЕUR", ""):
        assert not is_currency_code(bad)
