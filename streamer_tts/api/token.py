"""The API tokens: the full one, made at first start in the state directory
(mode 0600), and the overlay's read-only one, derived from it.

The overlay token is an HMAC of the full token, so it needs no file of its
own: the daemon and `bot.py api-token --overlay` always agree, and seeing it
(an OBS browser-source URL on a screenshot) gives no way back to the full
token. Making a new full token (delete the file) makes a new overlay token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from base64 import urlsafe_b64encode
from typing import TYPE_CHECKING

from ..secrets_file import SecretFileError, create_secret_file, read_secret_file

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["TOKEN_FILE", "api_token", "overlay_token"]

TOKEN_FILE = "api-token"
_OVERLAY_LABEL = b"streamer-tts overlay token v1"


def api_token(state_dir: Path) -> str:
    """Read the token, creating it (readable by the owner only) if missing.

    Two first starts racing end with one token: only one file is ever linked
    into place and both read it back."""
    path = state_dir / TOKEN_FILE
    for _ in range(3):
        try:
            token = read_secret_file(path).decode("utf-8", "replace").strip()
        except FileNotFoundError:
            token = ""
        if token:
            return token
        if not create_secret_file(path, (secrets.token_urlsafe(32) + "\n").encode()):
            continue  # another process made it first (or left it empty): read again
        return read_secret_file(path).decode("utf-8").strip()
    raise SecretFileError(f"{path} exists but is empty: delete it to make a new token")


def overlay_token(token: str) -> str:
    """The read-only overlay token that goes with the full `token`."""
    digest = hmac.new(token.encode(), _OVERLAY_LABEL, hashlib.sha256).digest()
    return "ov-" + urlsafe_b64encode(digest[:24]).decode().rstrip("=")
