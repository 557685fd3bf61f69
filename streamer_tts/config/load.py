"""Read `config.yaml`: YAML, then `${ENV}` references, then the schema.

Every problem becomes one line naming the key path, the bad value and what
is allowed; all of them are collected and raised together as `ConfigError`.
A secret's value never appears in a message.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, SecretStr, ValidationError

from .schema import Config

if TYPE_CHECKING:
    from collections.abc import Mapping, Set

__all__ = ["ConfigError", "load_config", "parse_config", "read_dotenv", "secrets_of"]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_PLACEHOLDER = re.compile(r"__stts_env_(\d+)__")
_SECRET_KEYS = ("secret", "api_key", "token", "password")


class ConfigError(Exception):
    """A config that cannot be used; `problems` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, `#` comments, optional quotes and `export `."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_config(
    path: str | Path, *, env: Mapping[str, str] | None = None, read_emotes: bool = True
) -> Config:
    """Load and validate; `.env` beside the file fills unset variables."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: no such file (copy config.yaml from the repository)"]
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([f"{path}: cannot read ({e.__class__.__name__})"]) from None
    environ = {**read_dotenv(path.parent / ".env"), **(os.environ if env is None else env)}
    base_dir = path.parent if read_emotes else None
    return parse_config(
        text, env=environ, origin=str(path), base_dir=base_dir, read_emotes=read_emotes
    )


def parse_config(
    text: str,
    *,
    env: Mapping[str, str],
    origin: str = "config",
    base_dir: Path | None = None,
    read_emotes: bool = True,
) -> Config:
    # `${VAR}` is not valid YAML inside a flow mapping (`{api_key: ${KEY}}`), so
    # references become plain placeholder tokens first and are filled in after
    # parsing, in string values only: a secret's characters can never change
    # the YAML structure.
    refs: list[tuple[str, str | None]] = []

    def hold(match: re.Match[str]) -> str:
        refs.append((match.group(1), match.group(2)))
        return f"__stts_env_{len(refs) - 1}__"

    text = _ENV_REF.sub(hold, text)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise ConfigError([f"{origin}:{where}: {problem}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            [f"{origin}: the top level must be a mapping of keys, not a list or text"]
        )
    missing: dict[tuple[str, ...], str] = {}
    filled: set[str] = set()
    data = _expand(data, env, refs, (), missing, filled)
    assert isinstance(data, dict)  # a mapping expands to a mapping
    problems: list[str] = []
    try:
        config = Config.model_validate(data)
    except ValidationError as e:
        # an unset variable is reported once, as such, not again as a bad value
        secrets = filled | set(_secret_values(data))
        problems.extend(_scrub(p, secrets) for p in _explain(e, hide=list(missing), env=filled))
        config = None
    for path, name in missing.items():
        if _unused(path, data):
            continue
        problems.insert(
            0,
            f"{'.'.join(path)}: environment variable {name} is not set "
            f"(export it, or put {name}=... in a .env file beside the config)",
        )
    if config is not None and config.filters.emote_lists and read_emotes:
        problems.extend(_read_emote_lists(config, base_dir or Path.cwd()))
    if problems or config is None:
        raise ConfigError([f"{origin}: {p}" for p in problems])
    return config


# --- filters.emote_lists: files of names, read here so the core takes data ----

MAX_EMOTE_NAMES = 100_000
"""A channel's 7TV + BTTV + FFZ sets hold a few thousand; a bound on a bad file."""
MAX_EMOTE_FILE_BYTES = 4_000_000


def _read_emote_lists(config: Config, base_dir: Path) -> list[str]:
    """Fill `filters._emote_names` from the files; one problem line per bad file.

    One name a line (the first word), blank lines and `#` comments skipped;
    a relative path is taken from the config's directory.
    """
    names: set[str] = set()
    problems: list[str] = []
    for i, raw in enumerate(config.filters.emote_lists):
        path = Path(raw).expanduser()
        path = path if path.is_absolute() else base_dir / path
        where = f"filters.emote_lists.{i}"
        try:
            if path.stat().st_size > MAX_EMOTE_FILE_BYTES:
                problems.append(f"{where}: {path} is over {MAX_EMOTE_FILE_BYTES} bytes")
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            problems.append(
                f"{where}: {path}: no such file (`python bot.py emotes --fetch` makes one)"
            )
            continue
        except OSError as e:
            problems.append(f"{where}: {path}: cannot read ({e.strerror or e})")
            continue
        for line in text.splitlines():
            words = line.split()
            if words and not words[0].startswith("#"):
                names.add(words[0])
    if len(names) > MAX_EMOTE_NAMES:
        problems.append(f"filters.emote_lists: over {MAX_EMOTE_NAMES} names")
    elif not problems:
        config.filters._emote_names = frozenset(names)
    return problems


def _expand(
    node: object,
    env: Mapping[str, str],
    refs: list[tuple[str, str | None]],
    at: tuple[str, ...],
    missing: dict[tuple[str, ...], str],
    filled: set[str],
) -> object:
    """Fill the placeholders of `${VAR}` / `${VAR:-default}` in string values;
    `filled` collects the values that came from the environment (never shown)."""
    if isinstance(node, dict):
        return {k: _expand(v, env, refs, (*at, str(k)), missing, filled) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand(v, env, refs, (*at, str(i)), missing, filled) for i, v in enumerate(node)]
    if not isinstance(node, str) or "__stts_env_" not in node:
        return node

    def sub(match: re.Match[str]) -> str:
        name, default = refs[int(match.group(1))]
        if env.get(name):
            filled.add(env[name])
            return env[name]
        if default is not None:
            return default
        missing[at] = name
        return ""

    value = _PLACEHOLDER.sub(sub, node)
    if value != node:
        filled.add(value)
    return None if value == "" and _PLACEHOLDER.fullmatch(node) else value


def _unused(path: tuple[str, ...], data: dict[str, Any]) -> bool:
    """A variable for a section not in use (Cartesia's key with Piper) may be unset."""
    engine = data.get("engine")
    primary = engine.get("primary", "piper") if isinstance(engine, dict) else "piper"
    return path[:2] == ("engine", "cartesia") and primary != "cartesia"


def _is_secret(loc: tuple[str | int, ...]) -> bool:
    return any(isinstance(p, str) and any(s in p for s in _SECRET_KEYS) for p in loc)


def _secret_values(node: object, under_secret: bool = False) -> list[str]:
    """Every string under a secret-named key, at any depth (wrong shapes too)."""
    if isinstance(node, dict):
        return [
            s
            for k, v in node.items()
            for s in _secret_values(v, under_secret or _is_secret((str(k),)))
        ]
    if isinstance(node, list):
        return [s for v in node for s in _secret_values(v, under_secret)]
    if under_secret and node is not None and not isinstance(node, bool):
        return [str(node)]
    return []


def _scrub(line: str, secrets: set[str]) -> str:
    """Last line of defence: no secret value of 4 characters or more, whole."""
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        line = line.replace(secret, "***")
    return line


def _explain(
    error: ValidationError, *, hide: list[tuple[str, ...]], env: Set[str] = frozenset()
) -> list[str]:
    lines = []
    for item in error.errors(include_url=False):
        loc = tuple(
            p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        loc = tuple(p for p in loc if p not in ("literal", "constrained-int", "constrained-float"))
        key = tuple(str(p) for p in loc)
        if any(path[: len(key)] == key for path in hide):
            continue
        path = ".".join(str(p) for p in loc) or "(top level)"
        kind, value = item["type"], item.get("input")
        shown = _shown(loc, value, env)
        if kind == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
            lines.append(f"{path}: unknown key{hint}")
        elif kind == "missing":
            lines.append(f"{path}: required key is missing")
        elif kind == "literal_error":
            expected = item.get("ctx", {}).get("expected", "")
            lines.append(f"{path}: {shown} is not allowed; use one of {expected}")
        elif isinstance(value, dict) and kind in ("value_error", "assertion_error"):
            # a section-level (model validator) problem: our own words, no value
            lines.append(f"{path}: {item['msg'].removeprefix('Value error, ')}")
        else:
            msg = item["msg"].removeprefix("Value error, ")
            lines.append(f"{path}: {shown} is invalid: {msg}")
    return lines


def _shown(loc: tuple[str | int, ...], value: object, env: Set[str]) -> str:
    """The bad value as the user wrote it, unless it is or may hold a secret:
    a secret-named key, a section that holds secrets (a key pasted where the
    section goes), a value from the environment, a whole mapping or list."""
    if _is_secret(loc) or _holds_secret(loc) or (isinstance(value, str) and value in env):
        return "(hidden)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return _show(value)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _holds_secret(loc: tuple[str | int, ...]) -> bool:
    """Whether the schema at `loc` is, or contains, a secret field."""
    annotation: Any = Config
    for part in loc:
        model = _model_of(annotation)
        if model is None:
            return False
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part)) or next(
            (f for f in model.model_fields.values() if f.alias == part), None
        )
        if field is None:
            return False
        annotation = field.annotation
    return _contains_secret(annotation, set())


def _contains_secret(annotation: object, seen: set[int]) -> bool:
    if annotation is SecretStr:
        return True
    if id(annotation) in seen:
        return False
    seen.add(id(annotation))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return any(_contains_secret(f.annotation, seen) for f in annotation.model_fields.values())
    return any(_contains_secret(a, seen) for a in getattr(annotation, "__args__", ()))


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    """The keys the model at `loc` accepts, for the 'unknown key' hint."""
    model: type[BaseModel] | None = Config
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            field = next((f for f in model.model_fields.values() if f.alias == part), None)
        model = _model_of(field.annotation) if field is not None else None
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_of(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def secrets_of(config: Config) -> list[str]:
    """Secret values to redact from every log line."""
    found = []
    if config.twitch is not None:
        found.append(config.twitch.client_secret.get_secret_value())
    if config.engine.cartesia.api_key is not None:
        found.append(config.engine.cartesia.api_key.get_secret_value())
    if config.engine.azure.key is not None:
        found.append(config.engine.azure.key.get_secret_value())
    return [s for s in found if len(s) >= 4]
