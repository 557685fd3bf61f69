"""The config schema: what `config.yaml` may hold, with a default for each key.

Every model forbids unknown keys, so a typo is an error rather than a setting
silently ignored. Only the Twitch credentials have no default; `run` needs
them, `demo` and `check-config` do not.

The larger sections live in their own modules (`engine.py`, `sources.py`,
`voices.py`, over the shared `base.py`) and are re-exported here; this file
keeps the smaller ones and `Config`, which checks what spans sections.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

from .. import sounds
from ..core.commands import CommandKey
from ..core.events import Source
from ..core.fields import is_currency_code
from ..core.money import DEFAULT_RATES
from ..core.pronounce import MAX_ENTRIES, MAX_RESPELLING_CHARS, MAX_TERM_CHARS, term_key
from .base import PriorityName, RoleName, Strict
from .engine import (
    Azure,
    Cartesia,
    Engine,
    EngineName,
    Espeak,
    Gtts,
    Piper,
)
from .sources import (
    ApiSource,
    ChatSource,
    KofiSource,
    KofiType,
    RaidSource,
    RedemptionSource,
    Reward,
    SourceModel,
    Sources,
    StreamElementsSource,
    StreamlabsSource,
)
from .voices import AliasName, VoiceAlias, Voices

# the sections moved to their own modules stay importable from here
__all__ = [
    "AliasName",
    "ApiSource",
    "Azure",
    "Cartesia",
    "ChatSource",
    "Config",
    "Engine",
    "EngineName",
    "Espeak",
    "Gtts",
    "KofiSource",
    "KofiType",
    "Piper",
    "PriorityName",
    "RaidSource",
    "RedemptionSource",
    "Reward",
    "RoleName",
    "SourceModel",
    "Sources",
    "StreamElementsSource",
    "StreamlabsSource",
    "Strict",
    "VoiceAlias",
    "Voices",
]


class Endpoints(Strict):
    api: str = "https://api.twitch.tv/helix/"
    auth: str = "https://id.twitch.tv/"
    eventsub: str = "wss://eventsub.wss.twitch.tv/ws"


class Twitch(Strict):
    client_id: str
    client_secret: SecretStr
    bot_id: str
    owner_id: str
    tokens_file: str = "tokens.json"
    endpoints: Endpoints = Endpoints()
    # also subscribe channel.cheer / channel.subscription.* with the
    # broadcaster's token (chat already reports them; duplicates are merged)
    eventsub_money: bool = False

    @field_validator("bot_id", "owner_id", mode="before")
    @classmethod
    def _numeric_id(cls, value: object) -> object:
        if isinstance(value, int):
            value = str(value)
        if isinstance(value, str) and not value.isdigit():
            raise ValueError('must be a numeric Twitch user id, e.g. "123456"')
        return value


class Audio(Strict):
    output: str = "default"  # default | pulse:SINK | none | a device-name substring | file:PATH.wav
    gap_ms: Annotated[int, Field(ge=0, le=10_000)] = 300
    max_message_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    volume: Annotated[float, Field(ge=0, le=2)] = 1.0
    # every message levelled to this integrated loudness (LUFS); null: raw engine level
    loudness_lufs: Annotated[float, Field(ge=-40, le=-6)] | None = -18.0
    # null: the output device's own rate (no resampling in the sound server,
    # lower latency); files and `none` then use 22050
    sample_rate: Literal[16000, 22050, 24000, 44100, 48000] | None = None
    # device buffer: smaller = a skip heard sooner, but more wake-ups to keep
    # fed (audio.devices.FRAMES_PER_BUFFER: the same default)
    frames_per_buffer: Annotated[int, Field(ge=64, le=8192)] = 384
    # most a streamed voice is held back to ride out late chunks (adaptive below it)
    max_preroll_ms: Annotated[int, Field(ge=0, le=1000)] = 120
    # a device lost longer than this stops the systemd watchdog pings (restart)
    restore_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0

    @field_validator("output")
    @classmethod
    def _output(cls, value: str) -> str:
        if value.startswith("file:") and not value.lower().endswith(".wav"):
            raise ValueError("a file output must end in .wav, e.g. file:session.wav")
        if not value.strip():
            raise ValueError("must not be empty (use default, none, a device name or file:X.wav)")
        return value


class Logging(Strict):
    format: Literal["text", "json"] = "text"
    file: str | None = None
    level: Literal["debug", "info", "warning", "error"] = "info"


class TierModel(Strict):
    min_bits: Annotated[int, Field(ge=1)]
    priority: PriorityName
    interrupt: bool = False
    voice: str | None = None
    sound: str | None = None  # an alert WAV before the message (`default`: the bundled chime)


class Money(Strict):
    base: str = "USD"
    # value of one unit in the base currency; listed codes replace the
    # defaults, the others keep theirs (converted to the base)
    rates: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = {}

    @field_validator("base")
    @classmethod
    def _base(cls, value: str) -> str:
        if not is_currency_code(value):
            raise ValueError(f"{value!r} is not a currency code (three capitals, e.g. EUR)")
        return value

    @field_validator("rates")
    @classmethod
    def _codes(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [code for code in value if not is_currency_code(code)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a currency code (three capitals, e.g. EUR)")
        return value

    @model_validator(mode="after")
    def _base_has_rate(self) -> Money:
        if self.base not in self.rates and self.base not in DEFAULT_RATES:
            raise ValueError(f"base {self.base} has no rate; add it to money.rates")
        return self


class Rate(Strict):
    rate: Annotated[int, Field(ge=1)]
    per_seconds: Annotated[float, Field(gt=0)]


class Limits(Strict):
    per_user: Rate | None = Rate(rate=3, per_seconds=60)
    roles: dict[RoleName, Rate | None] = {"moderator": None, "broadcaster": None}
    global_: Rate | None = Field(default=Rate(rate=30, per_seconds=60), alias="global")
    max_pending_per_user: Annotated[int, Field(ge=1)] | None = 2
    paid_exempt: bool = True

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CommandModel(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,25}$")]
    allow: RoleName


class Commands(Strict):
    tts: CommandModel = CommandModel(name="tts", allow="everyone")
    skip: CommandModel = CommandModel(name="skip", allow="moderator")
    clear: CommandModel = CommandModel(name="ttsclear", allow="moderator")
    pause: CommandModel = CommandModel(name="ttspause", allow="moderator")
    resume: CommandModel = CommandModel(name="ttsresume", allow="moderator")
    queue: CommandModel = CommandModel(name="ttsqueue", allow="everyone")
    ban: CommandModel = CommandModel(name="ttsban", allow="moderator")
    unban: CommandModel = CommandModel(name="ttsunban", allow="moderator")
    say: CommandModel = CommandModel(name="ttssay", allow="moderator")
    unsay: CommandModel = CommandModel(name="ttsunsay", allow="moderator")
    nick: CommandModel = CommandModel(name="ttsnick", allow="moderator")
    self_nick: CommandModel = CommandModel(name="nick", allow="everyone")
    approve: CommandModel = CommandModel(name="ttsok", allow="moderator")
    reject: CommandModel = CommandModel(name="ttsno", allow="moderator")
    voice: CommandModel = CommandModel(name="voice", allow="everyone")
    ttsvoice: CommandModel = CommandModel(name="ttsvoice", allow="moderator")
    replies: bool = False  # short chat replies saying why a !tts was refused

    @model_validator(mode="after")
    def _unique_names(self) -> Commands:
        names = [getattr(self, k).name.lower() for k in CommandKey]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"two commands share the name {dupes[0]!r}")
        return self


if set(Commands.model_fields) - {"replies"} != set(CommandKey):  # one list of commands
    raise TypeError("config Commands must have exactly one field per core CommandKey")


class Queue(Strict):
    max_size: Annotated[int, Field(ge=1, le=10_000)] = 100
    aging_seconds: Annotated[float, Field(gt=0)] | None = 120.0
    clear_drops_paid: bool = False
    # after a crash, a free message cut mid-way is dropped (paid ones are
    # always read again from the start); true reads free ones again too
    replay_interrupted_free: bool = False
    # flood mode: above this many free messages waiting, names are not read and
    # free messages below flood_min_priority are refused (`flood`), until fewer
    # than half of it wait
    flood_threshold: Annotated[int, Field(ge=1, le=10_000)] = 20
    flood_min_priority: PriorityName = "high"


class Moderation(Strict):
    # a free message waits this long after acceptance before it may play, so
    # a mod can delete it (or time its author out) before it is ever heard
    hold_seconds: Annotated[float, Field(ge=0, le=3600)] = 0.0
    hold_paid: bool = False  # true: paid messages are held too
    # per source, the roles (a sender's highest) whose messages wait for a
    # moderator's OK, e.g. {chat: [everyone]}; none by default
    approval: dict[str, list[RoleName]] = {}
    approval_timeout_seconds: Annotated[float, Field(gt=0, le=86_400)] = 300.0

    @field_validator("approval")
    @classmethod
    def _known_sources(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        known = [s.value for s in Source]
        for name in value:
            if name not in known:
                raise ValueError(f"{name!r} is not a source; use one of {', '.join(known)}")
        return value


class Api(Strict):
    enabled: bool = True
    host: str = "127.0.0.1"  # loopback: only this machine's tools reach it
    port: Annotated[int, Field(ge=0, le=65535)] = 8765


class Daemon(Strict):
    state_dir: str | None = None  # null: $XDG_STATE_HOME/streamer-tts (~/.local/state/...)
    stop_grace_seconds: Annotated[float, Field(ge=0, le=60)] = 5.0


class Filters(Strict):
    max_length: Annotated[int, Field(ge=10, le=5000)] = 300
    links: Literal["strip", "replace", "drop"] = "replace"
    link_replacement: str = "a link"
    banned_words: list[str] = []
    banned_words_action: Literal["mask", "drop"] = "mask"
    mask: str = "bleep"
    max_repeat_chars: Annotated[int, Field(ge=1, le=20)] = 3
    max_repeat_words: Annotated[int, Field(ge=1, le=20)] = 2
    strip_commands: bool = True
    emote_lists: list[str] = []  # files of emote names, one a line (7TV, BTTV, FFZ)
    # the names read from `emote_lists` at config load (not a key)
    _emote_names: frozenset[str] = PrivateAttr(default_factory=frozenset)


class Nicknames(Strict):
    self_: bool = Field(default=False, alias="self")  # `!nick <name>`: viewers name themselves
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _default_tiers() -> list[TierModel]:
    return [
        TierModel(min_bits=1000, priority="urgent"),
        TierModel(min_bits=500, priority="high"),
        TierModel(min_bits=100, priority="normal"),
    ]


class Config(Strict):
    twitch: Twitch | None = None
    engine: Engine = Engine()
    audio: Audio = Audio()
    logging: Logging = Logging()
    tiers: Annotated[list[TierModel], Field(min_length=1)] = Field(default_factory=_default_tiers)
    sources: Sources = Sources()
    limits: Limits = Limits()
    commands: Commands = Commands()
    queue: Queue = Queue()
    moderation: Moderation = Moderation()
    filters: Filters = Filters()
    daemon: Daemon = Daemon()
    api: Api = Api()
    money: Money = Money()
    pronunciations: dict[str, str] = {}  # term (one word, any case) -> how to read it
    nicknames: Nicknames = Nicknames()

    @field_validator("pronunciations")
    @classmethod
    def _pronunciations(cls, value: dict[str, str]) -> dict[str, str]:
        for term, respelling in value.items():
            if term_key(term) is None:
                raise ValueError(f"{term!r} is not one word of at most {MAX_TERM_CHARS} characters")
            if not respelling.strip() or len(respelling) > MAX_RESPELLING_CHARS:
                raise ValueError(
                    f"{term}: the respelling must be 1 to {MAX_RESPELLING_CHARS} characters"
                )
        if len(value) > MAX_ENTRIES:
            raise ValueError(f"at most {MAX_ENTRIES} terms")
        return value

    voices: Voices | None = None  # none: the primary engine's voice reads everything

    @model_validator(mode="after")
    def _voice_names(self) -> Config:
        """With aliases, every tier, source and reward voice must name one."""
        if self.voices is None:
            return self
        rewards = self.sources.redemption.rewards
        named = [(f"tiers.{n}", t.voice) for n, t in enumerate(self.tiers)]
        named += [(f"sources.{s.value}", getattr(self.sources, s.value).voice) for s in Source]
        if isinstance(rewards, dict):
            named += [(f"sources.redemption.rewards.{k}", r.voice) for k, r in rewards.items()]
        for where, alias in named:
            if alias is not None and alias not in self.voices.aliases:
                known = ", ".join(sorted(self.voices.aliases))
                raise ValueError(f"{where}.voice: unknown voice {alias!r} (aliases: {known})")
        return self

    @model_validator(mode="after")
    def _sounds(self) -> Config:
        """Every alert sound is read once here: a bad one is one line at load."""
        rewards = self.sources.redemption.rewards
        named = [(f"tiers.{n}", t.sound) for n, t in enumerate(self.tiers)]
        named += [(f"sources.{s.value}", getattr(self.sources, s.value).sound) for s in Source]
        if isinstance(rewards, dict):
            named += [(f"sources.redemption.rewards.{k}", r.sound) for k, r in rewards.items()]
        for where, sound in named:
            if sound is not None:
                try:
                    sounds.check(sound)
                except ValueError as e:
                    raise ValueError(f"{where}.sound: {e}") from None
        return self
