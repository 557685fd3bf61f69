"""What clients may send, validated and cleaned: a bad field is one clear line
(400) naming the field, never a crash.

The donation form is fixed by existing donation bridges:
`{"type": "donation", "donor_name": ..., "amount": ..., "message": ..., "currency"?, "id"?}`.
Every short field is cleaned here, before it reaches the log, the pages or
an engine: a donor name loses control and bidi characters and is capped, a
currency must look like an ISO 4217 code, a login like a Twitch login. The
message text itself goes through the admission core's filters like chat.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError

from ..core.fields import clean_field, is_currency_code

__all__ = [
    "ANONYMOUS",
    "MESSAGE_TYPES",
    "AnyIn",
    "BadMessage",
    "DonationIn",
    "IdIn",
    "SayIn",
    "SimpleIn",
    "TtsIn",
    "UnsayIn",
    "UserIn",
    "parse_message",
]

ANONYMOUS = "Anonymous"
"""Read for a donation whose name is empty once cleaned: tip pages say the same."""
MAX_AMOUNT = 1e9
_LOGIN = re.compile(r"[a-z0-9_]{1,25}")
_ID = re.compile(r"[!-~]{1,200}")  # visible ASCII: ids are shown in logs and pages


def _donor_name(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if len(value) > 2000:
        raise ValueError("is longer than 2000 characters")
    return clean_field(value) or ANONYMOUS


def _amount(value: object) -> float:
    """A positive finite number; a numeric string is accepted (Ko-fi sends them)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("must be a number, e.g. 25.0")
    try:
        amount = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        raise ValueError("must be a number, e.g. 25.0") from None
    if not math.isfinite(amount) or not 0 < amount < MAX_AMOUNT:
        raise ValueError(f"must be more than 0 and less than {MAX_AMOUNT:.0f}")
    return amount


def _currency(value: object) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if not is_currency_code(code):
        raise ValueError("must be a three-letter ISO 4217 code, e.g. USD")
    return code


def _login(value: object) -> str:
    login = value.strip().removeprefix("@").lower() if isinstance(value, str) else ""
    if not _LOGIN.fullmatch(login):
        raise ValueError("must be a Twitch login (letters, digits and _, at most 25)")
    return login


def _id(value: object) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError("must be 1 to 200 visible ASCII characters, no spaces")
    return value


def _text(max_chars: int, *, required: bool) -> BeforeValidator:
    def check(value: object) -> str:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if len(value) > max_chars:
            raise ValueError(f"is longer than {max_chars} characters")
        if required and not value.strip():
            raise ValueError("must not be empty")
        return value

    return BeforeValidator(check)


Id = Annotated[str, BeforeValidator(_id)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class DonationIn(_Strict):
    type: Literal["donation"]
    donor_name: Annotated[str, BeforeValidator(_donor_name)]
    amount: Annotated[float, BeforeValidator(_amount)]
    message: Annotated[str, _text(2000, required=False)] = ""
    currency: Annotated[str, BeforeValidator(_currency)] = "USD"
    id: Id | None = None


class TtsIn(_Strict):
    type: Literal["tts"]
    text: Annotated[str, _text(2000, required=True)]
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    id: Id | None = None


class SimpleIn(_Strict):
    type: Literal["skip", "pause", "resume", "clear", "queue", "subscribe", "history"]


class UserIn(_Strict):
    type: Literal["ban", "unban"]
    user: Annotated[str, BeforeValidator(_login)]


class IdIn(_Strict):
    type: Literal["remove", "replay", "approve", "reject"]
    id: Id


class SayIn(_Strict):
    """A pronunciation: `term` (one word) read as `respelling` (filtered by the core)."""

    type: Literal["say"]
    term: Annotated[str, _text(40, required=True)]
    respelling: Annotated[str, _text(80, required=True)]


class UnsayIn(_Strict):
    type: Literal["unsay"]
    term: Annotated[str, _text(40, required=True)]


AnyIn = DonationIn | TtsIn | SimpleIn | UserIn | IdIn | SayIn | UnsayIn
ApiMessage = Annotated[AnyIn, Field(discriminator="type")]
_ADAPTER: TypeAdapter[AnyIn] = TypeAdapter(ApiMessage)
MESSAGE_TYPES: tuple[str, ...] = tuple(
    t for model in get_args(AnyIn) for t in get_args(model.model_fields["type"].annotation)
)
"""Every `type` a client may send, read off the models (the server checks its
handler table against it at import, so the two cannot drift)."""


class BadMessage(ValueError):
    """One line saying which field is wrong."""


def parse_message(data: object) -> AnyIn:
    if not isinstance(data, dict):
        raise BadMessage("expected a JSON object with a 'type'")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in MESSAGE_TYPES:
        raise BadMessage(f"type: must be one of {', '.join(MESSAGE_TYPES)}")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"] if p != kind) or "type"
        msg = first["msg"].removeprefix("Value error, ")
        raise BadMessage(f"{field}: {msg}") from None
