"""The `sources:` section: which events are read, and how each is worded.

One model per source (chat, cheers, tips ...), each with its own extras; the
templates are checked here against the placeholders each source offers.
Apart from `schema.py` (which re-exports these) because it is the largest
section and the one a new tip provider extends.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator

from ..core.events import Source
from ..core.rules import PLACEHOLDERS, template_fields
from .base import PriorityName, RoleName, Strict

__all__ = [
    "ApiSource",
    "ChatSource",
    "KofiSource",
    "KofiType",
    "RaidSource",
    "RedemptionSource",
    "Reward",
    "SourceModel",
    "Sources",
    "StreamElementsSource",
    "StreamlabsSource",
]


class SourceModel(Strict):
    enabled: bool = True
    priority: PriorityName | None = None  # None: the source's default
    template: str | None = None
    template_no_name: str | None = None
    voice: str | None = None
    sound: str | None = None  # an alert WAV played right before; `default`: the bundled chime


class ChatSource(SourceModel):
    mode: Literal["command", "all"] = "command"  # all: every chat line is read, no !tts
    roles: Annotated[list[RoleName], Field(min_length=1)] = ["everyone"]  # whose, in mode all


class Reward(Strict):
    voice: str | None = None  # an alias of `voices.aliases`
    sound: str | None = None  # an alert WAV before it (`default`: the bundled chime)


class RedemptionSource(SourceModel):
    # reward titles read aloud; [] = every reward with text. A mapping gives a
    # reward its voice: {"Robot voice": {voice: robot}}
    rewards: list[str] | dict[str, Reward] = ["TTS"]


class RaidSource(SourceModel):
    min_viewers: Annotated[int, Field(ge=0)] = 1


class ApiSource(SourceModel):
    bits_per_unit: Annotated[float, Field(gt=0)] = 100.0  # 100: one cent a bit, as Twitch


class StreamElementsSource(SourceModel):
    enabled: bool = False
    token: SecretStr | None = None  # JWT or overlay API key, from the dashboard's channel page
    token_type: Literal["jwt", "apikey"] = "jwt"
    url: str = "wss://astro.streamelements.com"
    require_approved: bool = False  # read only tips a moderator allowed


class StreamlabsSource(SourceModel):
    enabled: bool = False
    token: SecretStr | None = None  # the Socket API token (API settings)
    url: str = "https://sockets.streamlabs.com"


KofiType = Literal["Donation", "Subscription", "Commission", "Shop Order"]


class KofiSource(SourceModel):
    enabled: bool = False
    verification_token: SecretStr | None = None
    tip_private: str | None = None  # read when the tipper hid name and message
    types: list[KofiType] = ["Donation", "Subscription"]


class Sources(Strict):
    read_usernames: Literal["always", "never", "on_change"] = "on_change"
    ignore_users: list[str] = [
        "nightbot",
        "streamelements",
        "streamlabs",
        "moobot",
        "fossabot",
        "wizebot",
    ]
    chat: ChatSource = ChatSource()
    cheer: SourceModel = SourceModel()
    subscription: SourceModel = SourceModel()
    gift: SourceModel = SourceModel()
    redemption: RedemptionSource = RedemptionSource()
    raid: RaidSource = RaidSource()
    follow: SourceModel = SourceModel(enabled=False)
    api: ApiSource = ApiSource()
    streamelements: StreamElementsSource = StreamElementsSource()
    streamlabs: StreamlabsSource = StreamlabsSource()
    kofi: KofiSource = KofiSource()

    @model_validator(mode="after")
    def _secrets(self) -> Sources:
        for name, key in (
            ("streamelements", "token"),
            ("streamlabs", "token"),
            ("kofi", "verification_token"),
        ):
            model = getattr(self, name)
            if model.enabled and getattr(model, key) is None:
                raise ValueError(f"{name} is enabled but {name}.{key} is not set")
        return self

    @model_validator(mode="after")
    def _templates(self) -> Sources:
        for source in Source:
            model: SourceModel = getattr(self, source.value)
            for key in ("template", "template_no_name", "tip_private"):
                template = getattr(model, key, None)
                if template is None:
                    continue
                try:
                    used = template_fields(template)
                except ValueError as e:
                    raise ValueError(f"{source.value}.{key}: malformed template ({e})") from None
                unknown = sorted(used - PLACEHOLDERS[source])
                if unknown:
                    allowed = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS[source]))
                    raise ValueError(
                        f"{source.value}.{key}: unknown placeholder {{{unknown[0]}}} "
                        f"(allowed: {allowed})"
                    )
        return self
