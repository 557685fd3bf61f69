"""The `engine:` section: which speech engines read, in which order, with what.

One model per engine with its own keys; apart from `schema.py` (which
re-exports these) because a new engine adds its model here and nothing else
in the schema changes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator

from .base import Strict

__all__ = ["Azure", "Cartesia", "Engine", "EngineName", "Espeak", "Gtts", "Piper"]


class Piper(Strict):
    voice: str | None = None  # path to an .onnx voice; default en_US-joe-medium
    length_scale: Annotated[float, Field(gt=0.1, le=5)] | None = None


class Cartesia(Strict):
    api_key: SecretStr | None = None
    model: str = "sonic-3"
    voice: str | None = None
    websocket_url: str = "wss://api.cartesia.ai"
    base_url: str = "https://api.cartesia.ai"
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0


class Espeak(Strict):
    voice: str = "en-us"  # an espeak-ng voice name (`espeak-ng --voices`)
    rate: Annotated[int, Field(ge=80, le=500)] = 175  # words per minute


class Azure(Strict):
    key: SecretStr | None = None  # no key: the engine is unavailable (one line at start)
    region: str = "eastus"
    endpoint: str | None = None  # replaces https://<region>.tts.speech.microsoft.com
    voice: str = "en-US-AriaNeural"
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0


class Gtts(Strict):
    url: str | None = None  # replaces https://translate.google.<tld>
    lang: str = "en"
    tld: str = "com"
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0


EngineName = Literal["piper", "cartesia", "espeak", "azure", "gtts"]


class Engine(Strict):
    primary: EngineName = "piper"
    fallback: EngineName | Literal["none"] = "piper"
    # Rounds of every engine again, with a backoff, before a message is failed.
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    piper: Piper = Piper()
    cartesia: Cartesia = Cartesia()
    espeak: Espeak = Espeak()
    azure: Azure = Azure()
    gtts: Gtts = Gtts()

    @model_validator(mode="after")
    def _cartesia_complete(self) -> Engine:
        for role in ("primary", "fallback"):
            if getattr(self, role) != "cartesia":
                continue
            missing = [k for k in ("api_key", "voice") if getattr(self.cartesia, k) is None]
            if missing:
                raise ValueError(f"{role} is cartesia but cartesia.{missing[0]} is not set")
        return self
