"""The `voices:` section: named voices over the engines, and who may pick which.

An alias is an engine and only that engine's own keys; apart from
`schema.py` (which re-exports these) because the alias checks are a
concern of their own and grow with every engine.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from .base import RoleName, Strict
from .engine import EngineName

__all__ = ["AliasName", "VoiceAlias", "Voices"]

AliasName = Annotated[str, Field(pattern=r"^[a-z0-9_][a-z0-9_-]{0,31}$")]


class VoiceAlias(Strict):
    """One named voice: an engine and its parameters (only the engine's own keys)."""

    engine: EngineName
    gain_db: Annotated[float, Field(ge=-30, le=30)] = 0.0
    # piper (SynthesisConfig); speaker: a multi-speaker model's speaker id
    length_scale: Annotated[float, Field(gt=0.1, le=5)] | None = None
    noise_scale: Annotated[float, Field(ge=0, le=2)] | None = None
    speaker: Annotated[int, Field(ge=0)] | None = None
    # espeak, cartesia, azure: the engine's voice name or id
    voice: str | None = None
    rate: Annotated[int, Field(ge=80, le=500)] | None = None  # espeak, words per minute
    speed: Annotated[float, Field(ge=0.5, le=2)] | None = None  # cartesia
    lang: str | None = None  # gtts
    tld: str | None = None  # gtts

    @model_validator(mode="after")
    def _own_keys(self) -> VoiceAlias:
        given = {k for k in _ALIAS_KEYS if getattr(self, k) is not None}
        wrong = sorted(given - _ENGINE_KEYS[self.engine])
        if wrong:
            allowed = ", ".join(sorted(_ENGINE_KEYS[self.engine])) or "none"
            raise ValueError(f"{wrong[0]} is not a {self.engine} setting (allowed: {allowed})")
        return self


_ALIAS_KEYS = ("length_scale", "noise_scale", "speaker", "voice", "rate", "speed", "lang", "tld")
_ENGINE_KEYS: dict[str, set[str]] = {
    "piper": {"length_scale", "noise_scale", "speaker"},
    "espeak": {"voice", "rate"},
    "cartesia": {"voice", "speed"},
    "azure": {"voice"},
    "gtts": {"lang", "tld"},
}


class Voices(Strict):
    default: str = "per_user"  # an alias, or per_user: a stable pick from the pool
    pool: list[str] = []  # per_user picks from these; [] = every alias
    aliases: Annotated[dict[AliasName, VoiceAlias], Field(min_length=1)]
    # which aliases a role may pick with !voice; `all` = every alias
    allow: dict[RoleName, list[str] | Literal["all"]] = {"everyone": "all"}
    by_language: dict[str, str] = {}  # language code (de, fr ...) -> alias
    inline: Literal["off", "paid", "everyone"] = "off"

    @field_validator("inline", mode="before")
    @classmethod
    def _off(cls, value: object) -> object:
        return "off" if value is False else value  # YAML reads a bare `off` as false

    @model_validator(mode="after")
    def _known(self) -> Voices:
        named = [("default", self.default)] if self.default != "per_user" else []
        named += [("pool", a) for a in self.pool]
        named += [(f"allow.{r}", a) for r, v in self.allow.items() if v != "all" for a in v]
        named += [(f"by_language.{k}", a) for k, a in self.by_language.items()]
        for where, alias in named:
            if alias not in self.aliases:
                known = ", ".join(sorted(self.aliases))
                raise ValueError(f"{where}: unknown voice {alias!r} (aliases: {known})")
        if self.by_language:
            from ..language import unknown_codes

            bad = unknown_codes(self.by_language)
            if bad:
                raise ValueError(f"by_language: {bad[0]!r} is not an ISO 639-1 code (de, fr ...)")
        return self
