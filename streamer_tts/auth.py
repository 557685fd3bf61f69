"""`bot.py auth`: the URLs a streamer opens to authorise the bot."""

from __future__ import annotations

import sys
from urllib.parse import urlencode

from .config import Config

__all__ = ["BOT_SCOPES", "authorize_url", "run_auth"]

BOT_SCOPES = ("user:read:chat", "user:write:chat", "user:bot")
REDIRECT_URI = "http://localhost:4343/oauth/callback"


def authorize_url(config: Config, scopes: tuple[str, ...]) -> str:
    assert config.twitch is not None
    query = urlencode(
        {
            "client_id": config.twitch.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": " ".join(scopes),
            "force_verify": "true",
        }
    )
    return f"{config.twitch.endpoints.auth.rstrip('/')}/oauth2/authorize?{query}"


def run_auth(config: Config) -> int:
    if config.twitch is None:
        print(
            "config error: twitch: section missing (client_id, client_secret, ...)", file=sys.stderr
        )
        return 2
    print("Open this URL logged in as the BOT account and approve:")
    print("  " + authorize_url(config, BOT_SCOPES))
    return 0
