"""`twitch.tokens_file`: the user tokens TwitchIO manages, on disk.

TwitchIO's own store (`.tio.tokens.json` in the current directory, written
with the process umask, only at a clean close) is replaced through its public
hooks: the bot's `load_tokens` / `save_tokens` overrides read and write this
file, and `event_token_refreshed` saves each refresh at once, so a crash
after a refresh never leaves only dead tokens behind. The format is
TwitchIO's: `{user_id: {user_id, token, refresh, last_validated}}`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from twitchio.types_.tokens import TokenMappingData

from ..secrets_file import write_secret_file

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["TOKENS_FILE_MODE", "TokenMappingData", "read_tokens", "write_tokens"]

TOKENS_FILE_MODE = 0o600  # the owner only: these tokens speak as the bot and the broadcaster


def read_tokens(path: Path) -> tuple[dict[str, TokenMappingData], str | None]:
    """The entries that look usable, and a problem worth a warning (or None).

    A missing file is no problem here: the scope check names the fix.
    """
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError) as e:
        return {}, f"cannot read {path} ({e.__class__.__name__})"
    if not isinstance(data, dict):
        return {}, f"{path} is not a token file"
    entries: dict[str, TokenMappingData] = {}
    for user_id, value in data.items():
        if isinstance(value, dict) and isinstance(value.get("token"), str):
            entries[str(user_id)] = {
                "user_id": str(value.get("user_id") or user_id),
                "token": value["token"],
                "refresh": str(value.get("refresh") or ""),
                "last_validated": str(value.get("last_validated") or ""),
            }
    return entries, None


def write_tokens(path: Path, data: Mapping[str, Mapping[str, Any]]) -> None:
    """Write the token file atomically, readable by the owner only."""
    write_secret_file(path, json.dumps(dict(data), indent=2).encode("utf-8"))
