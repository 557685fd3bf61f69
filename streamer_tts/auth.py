"""`bot.py auth`: authorise the bot account (and optionally the broadcaster).

Runs TwitchIO's own OAuth adapter on localhost: the streamer opens the
printed URL, approves on Twitch, and the adapter receives the code and
exchanges it. Tokens are stored in `twitch.tokens_file` (TwitchIO's format,
mode 0600), merged with any already there. Scopes asked for are exactly
those the enabled sources need.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import twitchio
from twitchio import web

from .secrets_file import read_secret_file, write_secret_file
from .twitch.bot import BOT_SCOPES, BROADCASTER_SCOPES, point_at

if TYPE_CHECKING:
    from twitchio.authentication import UserTokenPayload

    from .config import Config

__all__ = ["AUTH_PORT", "broadcaster_scopes", "run_auth"]

AUTH_PORT = 4343  # TwitchIO's adapter default; the redirect URL registered at dev.twitch.tv


def broadcaster_scopes(config: Config) -> list[str]:
    """The broadcaster's scopes for the sources enabled in the config."""
    scopes = ["channel:bot"]  # lets the bot speak in the channel without being a mod
    sources = config.sources
    if sources.redemption.enabled:
        scopes.append(BROADCASTER_SCOPES["redemption"])
    if sources.follow.enabled:
        scopes.append(BROADCASTER_SCOPES["follow"])
    if config.twitch is not None and config.twitch.eventsub_money:
        scopes += [BROADCASTER_SCOPES["cheer"], BROADCASTER_SCOPES["subscription"]]
    return scopes


class _AuthClient(twitchio.Client):
    """A client that only receives OAuth callbacks and writes the token file."""

    def __init__(self, config: Config, tokens_file: Path, port: int) -> None:
        assert config.twitch is not None
        super().__init__(
            client_id=config.twitch.client_id,
            client_secret=config.twitch.client_secret.get_secret_value(),
            adapter=web.AiohttpAdapter(host="localhost", port=port),
        )
        self.tokens_file = tokens_file
        self.authorised: asyncio.Queue[tuple[str, str, list[str]]] = asyncio.Queue()

    async def event_oauth_authorized(self, payload: UserTokenPayload) -> None:
        token, refresh = payload["access_token"], payload["refresh_token"]
        resp = await self.add_token(token, refresh)
        existing: dict[str, Any] = {}
        with contextlib.suppress(FileNotFoundError, ValueError):
            existing = json.loads(read_secret_file(self.tokens_file))
        existing[str(resp.user_id)] = {
            "user_id": str(resp.user_id),
            "token": token,
            "refresh": refresh,
            "last_validated": "",
        }
        # atomic, 0600 from the first byte, never through a symlink
        write_secret_file(self.tokens_file, json.dumps(existing).encode())
        await self.authorised.put((str(resp.user_id), str(resp.login), list(resp.scopes)))

    async def load_tokens(self, path: str | None = None) -> None:
        return None  # only new authorisations matter here

    async def save_tokens(self, path: str | None = None) -> None:
        return None  # written as each arrives


async def _auth(config: Config, port: int, *, want_broadcaster: bool, timeout_s: float) -> int:
    twitch = config.twitch
    assert twitch is not None
    point_at(twitch.endpoints.api, twitch.endpoints.auth, twitch.endpoints.eventsub)
    client = _AuthClient(config, Path(twitch.tokens_file), port)
    await client.login(load_tokens=False, save_tokens=False)
    await client.adapter.run()
    base = f"http://localhost:{port}/oauth?force_verify=true&scopes="
    print("1. Open this URL in a browser logged in as the BOT account and approve:")
    print("   " + base + "%20".join(BOT_SCOPES))
    if want_broadcaster:
        print("2. Then, logged in as the BROADCASTER (optional: channel points and more):")
        print("   " + base + "%20".join(broadcaster_scopes(config)))
    print(f"Waiting for Twitch (tokens go to {twitch.tokens_file}); Ctrl-C when done.")
    wanted = {twitch.bot_id} | ({twitch.owner_id} if want_broadcaster else set())
    code = 1
    try:
        while wanted:
            user_id, login, scopes = await asyncio.wait_for(client.authorised.get(), timeout_s)
            role = {twitch.bot_id: "bot", twitch.owner_id: "broadcaster"}.get(user_id, "other")
            print(f"authorised {login} (id {user_id}, {role}) with: {' '.join(sorted(scopes))}")
            wanted.discard(user_id)
            if user_id == twitch.bot_id:
                code = 0
    except TimeoutError:
        print("timed out waiting for the authorisation", file=sys.stderr)
    finally:
        with contextlib.suppress(Exception):
            await client.close()
    return code


def run_auth(
    config: Config, *, port: int = AUTH_PORT, broadcaster: bool = True, timeout_s: float = 600
) -> int:
    if config.twitch is None:
        print(
            "config error: twitch: section missing (client_id, client_secret, ...)", file=sys.stderr
        )
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_auth(config, port, want_broadcaster=broadcaster, timeout_s=timeout_s))
    return 0
