"""`python bot.py emotes --fetch`: the channel's 7TV, BTTV and FFZ emote names, to a file.

Chat full of "KEKW" and "monkaS" is noise read aloud. Twitch marks its own
emotes in a message's fragments, but third-party emotes are plain words only
the viewers' extensions draw; their names come from the public APIs of
7TV, BetterTTV and FrankerFaceZ (no key needed). The file is what
`filters.emote_lists` names: one name a line, read at config load.

Each provider is asked on its own: one that is down, slow or has never heard
of the channel is one line and the others still count. The file is written
atomically (a temporary file renamed), so a daemon reloading its config
never reads half of it.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = [
    "BTTV_URL",
    "FFZ_URL",
    "SEVENTV_URL",
    "Fetched",
    "Sources",
    "fetch_emotes",
    "write_emote_file",
]

SEVENTV_URL = "https://7tv.io"
BTTV_URL = "https://api.betterttv.net"
FFZ_URL = "https://api.frankerfacez.com"
TIMEOUT_S = 10.0
MAX_NAME_CHARS = 100  # longer is no emote name; it would never match a chat word anyway
MAX_BODY_BYTES = 20_000_000  # a channel's sets are a few hundred kB


@dataclass(frozen=True, slots=True)
class Sources:
    """Base URLs of the three APIs (tests point them at a local server)."""

    seventv: str = SEVENTV_URL
    bttv: str = BTTV_URL
    ffz: str = FFZ_URL
    include_global: bool = True


@dataclass(frozen=True, slots=True)
class Fetched:
    names: frozenset[str]
    reached: tuple[str, ...]  # "7TV channel: 123 names" ...
    failed: tuple[str, ...]  # one line each: which provider, why


def _names(items: object, key: str) -> list[str]:
    """`key` of each object in a list, if it looks like an emote name."""
    out: list[str] = []
    for item in items if isinstance(items, list) else []:
        name = item.get(key) if isinstance(item, dict) else None
        if (
            isinstance(name, str)
            and 0 < len(name) <= MAX_NAME_CHARS
            and name.isprintable()
            and not any(c.isspace() for c in name)
        ):
            out.append(name)
    return out


def _seventv(data: object) -> list[str]:
    # channel: {"emote_set": {"emotes": [{"name"}]}}; global set: {"emotes": [...]}
    emote_set = data.get("emote_set", data) if isinstance(data, dict) else None
    return _names(emote_set.get("emotes") if isinstance(emote_set, dict) else None, "name")


def _bttv(data: object) -> list[str]:
    # channel: {"channelEmotes": [{"code"}], "sharedEmotes": [...]}; global: [{"code"}]
    if isinstance(data, list):
        return _names(data, "code")
    if not isinstance(data, dict):
        return []
    return _names(data.get("channelEmotes"), "code") + _names(data.get("sharedEmotes"), "code")


def _ffz(data: object) -> list[str]:
    # {"sets": {"<id>": {"emoticons": [{"name"}]}}}: the room's set(s), or the default sets
    sets = data.get("sets") if isinstance(data, dict) else None
    if not isinstance(sets, dict):
        return []
    out: list[str] = []
    for emote_set in sets.values():
        if isinstance(emote_set, dict):
            out += _names(emote_set.get("emoticons"), "name")
    return out


def _requests(
    channel_id: str, sources: Sources
) -> list[tuple[str, str, Callable[[Any], list[str]]]]:
    s = sources
    wanted = [
        ("7TV channel", f"{s.seventv.rstrip('/')}/v3/users/twitch/{channel_id}", _seventv),
        ("BTTV channel", f"{s.bttv.rstrip('/')}/3/cached/users/twitch/{channel_id}", _bttv),
        ("FFZ channel", f"{s.ffz.rstrip('/')}/v1/room/id/{channel_id}", _ffz),
    ]
    if s.include_global:
        wanted += [
            ("7TV global", f"{s.seventv.rstrip('/')}/v3/emote-sets/global", _seventv),
            ("BTTV global", f"{s.bttv.rstrip('/')}/3/cached/emotes/global", _bttv),
            ("FFZ global", f"{s.ffz.rstrip('/')}/v1/set/global", _ffz),
        ]
    return wanted


async def fetch_emotes(channel_id: str, sources: Sources = Sources()) -> Fetched:
    """Ask every provider at once; each answer or failure is reported apart."""
    if not channel_id.isdigit():
        raise ValueError(f"channel id must be a numeric Twitch user id, not {channel_id!r}")
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    headers = {"User-Agent": "streamer-tts (emote list)", "Accept": "application/json"}
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as http:

        async def one(
            label: str, url: str, parse: Callable[[Any], list[str]]
        ) -> tuple[str, list[str], str | None]:
            try:
                async with http.get(url) as r:
                    if r.status == 404:  # the channel has no account there: no emotes
                        return label, [], None
                    if r.status != 200:
                        return label, [], f"{label}: HTTP {r.status} from {url}"
                    body = await r.content.read(MAX_BODY_BYTES + 1)
                    if len(body) > MAX_BODY_BYTES:
                        return label, [], f"{label}: answer over {MAX_BODY_BYTES} bytes"
                    return label, parse(json.loads(body)), None
            except (aiohttp.ClientError, TimeoutError, OSError) as e:
                why = str(e) if str(e) and not isinstance(e, TimeoutError) else type(e).__name__
                return label, [], f"{label}: unreachable ({why})"
            except ValueError:
                return label, [], f"{label}: the answer is not JSON"

        results = await asyncio.gather(*(one(*r) for r in _requests(channel_id, sources)))
    names: set[str] = set()
    reached: list[str] = []
    failed: list[str] = []
    for label, found, error in results:
        if error:
            failed.append(error)
        else:
            reached.append(f"{label}: {len(found)} names")
            names.update(found)
    return Fetched(frozenset(names), tuple(reached), tuple(failed))


def write_emote_file(path: Path, names: Iterable[str], header: str = "") -> None:
    """Sorted names, one a line, written atomically beside `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# {line}" for line in header.splitlines()] + sorted(set(names))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
