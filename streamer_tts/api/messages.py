"""What clients may send, validated: a bad field is one clear line, never a crash.

The donation form is fixed by existing donation bridges:
`{"type": "donation", "donor_name": ..., "amount": ..., "message": ..., "currency"?, "id"?}`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

__all__ = ["ApiMessage", "BadMessage", "parse_message"]

Text = Annotated[str, Field(max_length=2000)]
Name = Annotated[str, Field(min_length=1, max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class DonationIn(_Strict):
    type: Literal["donation"]
    donor_name: Name
    amount: Annotated[float, Field(gt=0, lt=1e9)]
    message: Text = ""
    currency: Annotated[str, Field(min_length=1, max_length=10)] = "USD"
    id: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class TtsIn(_Strict):
    type: Literal["tts"]
    text: Annotated[str, Field(min_length=1, max_length=2000)]
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    id: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class SimpleIn(_Strict):
    type: Literal["skip", "pause", "resume", "clear", "queue", "subscribe", "history"]


class UserIn(_Strict):
    type: Literal["ban", "unban"]
    user: Name


class IdIn(_Strict):
    type: Literal["remove", "replay"]
    id: Annotated[str, Field(min_length=1, max_length=300)]


AnyIn = DonationIn | TtsIn | SimpleIn | UserIn | IdIn
ApiMessage = Annotated[AnyIn, Field(discriminator="type")]
_ADAPTER: TypeAdapter[AnyIn] = TypeAdapter(ApiMessage)


class BadMessage(ValueError):
    """One line saying which field is wrong."""


def parse_message(data: object) -> AnyIn:
    if not isinstance(data, dict):
        raise BadMessage("expected a JSON object with a 'type'")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"] if p not in (data.get("type"),)) or "type"
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "union_tag_invalid" or first["type"] == "union_tag_not_found":
            msg = (
                "'type' must be one of donation, tts, skip, pause, resume, clear, "
                "ban, unban, queue, subscribe"
            )
            field = "type"
        raise BadMessage(f"{field}: {msg}") from None
