"""The API token: made at first start in the state directory, mode 0600."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["TOKEN_FILE", "api_token"]

TOKEN_FILE = "api-token"


def api_token(state_dir: Path) -> str:
    """Read the token, creating it (readable by the owner only) if missing."""
    path = state_dir / TOKEN_FILE
    try:
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
    except FileNotFoundError:
        pass
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fp:
        fp.write(token + "\n")
    return token
