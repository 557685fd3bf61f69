"""The command line: `run` (default), `check-config`, `devices`, `auth`, `demo`.

Exit codes: 0 done, 1 a runtime failure, 2 a usage or config problem (one
line per problem, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .secrets_file import SecretFileError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .config import Config

__all__ = ["main"]

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot.py",
        description="streamer-tts: reads Twitch chat, cheers and subs aloud, one voice at a time.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument(
            "--config",
            default="config.yaml",
            metavar="PATH",
            help="config file (default: %(default)s)",
        )
        return p

    add("run", "run the daemon in the foreground until SIGINT/SIGTERM")
    add("check-config", "validate the config and print the effective rules")
    add("devices", "list the sound output devices")
    add("auth", "authorise the bot (and optionally the broadcaster) with Twitch")
    token = add("api-token", "print the control API's token (made at first use)")
    token.add_argument(
        "--overlay",
        action="store_true",
        help="print the read-only token for the OBS overlay (it opens /overlay and nothing else)",
    )
    add("stats", "print the running daemon's figures (its /metrics) as a table")
    emotes = add("emotes", "write the channel's 7TV, BTTV and FFZ emote names to a file")
    emotes.add_argument(
        "--fetch", action="store_true", help="ask the 7TV, BTTV and FFZ APIs (needs the internet)"
    )
    emotes.add_argument(
        "--out",
        metavar="PATH",
        help="the file to write (default: the first of filters.emote_lists, else emotes.txt)",
    )
    emotes.add_argument("--channel", metavar="ID", help="Twitch user id (default: twitch.owner_id)")
    emotes.add_argument("--no-global", action="store_true", help="only the channel's own emotes")
    for flag, dest, default in (
        ("--7tv-url", "seventv_url", "https://7tv.io"),
        ("--bttv-url", "bttv_url", "https://api.betterttv.net"),
        ("--ffz-url", "ffz_url", "https://api.frankerfacez.com"),
    ):
        emotes.add_argument(flag, dest=dest, default=default, metavar="URL", help="API base URL")
    demo = add("demo", "run the built-in demo on a scripted stream of events")
    demo.add_argument("--fast", action="store_true", help="no pauses between scripted events")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command or "run"
    config_path = Path(getattr(args, "config", "config.yaml"))
    try:
        if command == "check-config":
            return _check_config(config_path)
        if command == "devices":
            return _devices()
        if command == "stats":
            from .api.stats import print_stats
            from .api.token import api_token
            from .daemon import state_dir

            config = _load(config_path)
            url = f"http://{config.api.host}:{config.api.port}"
            return print_stats(url, api_token(state_dir(config)))
        if command == "api-token":
            from .api.token import api_token, overlay_token
            from .daemon import state_dir

            token = api_token(state_dir(_load(config_path)))
            print(overlay_token(token) if args.overlay else token)
            return EXIT_OK
        if command == "emotes":
            return _emotes(config_path, args)
        if command == "demo":
            from .demo import run_demo

            return run_demo(fast=args.fast)
        if command == "auth":
            from .auth import run_auth

            return run_auth(_load(config_path))
        from .daemon import run_daemon

        return run_daemon(_load(config_path), config_path)
    except _ConfigExit as e:
        for line in e.lines:
            print(f"config error: {line}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_OK
    except SecretFileError as e:  # a token file that is not safe to use
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILURE


class _ConfigExit(Exception):
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines


def _load(path: Path, *, read_emotes: bool = True) -> Config:
    from .config import ConfigError, load_config

    try:
        return load_config(path, read_emotes=read_emotes)
    except ConfigError as e:
        raise _ConfigExit(e.problems) from None


def _check_config(path: Path) -> int:
    from .config import to_rules
    from .config.report import rules_table

    config = _load(path)
    print(f"{path}: OK")
    print(rules_table(config, to_rules(config)))
    return EXIT_OK


def _emotes(config_path: Path, args: argparse.Namespace) -> int:
    """Fill an emote list from the public APIs; exit 1 if none answered."""
    import asyncio

    from .emotes import Sources, fetch_emotes, write_emote_file

    if not args.fetch:
        print("nothing to do: `emotes --fetch` asks 7TV, BTTV and FFZ", file=sys.stderr)
        return EXIT_CONFIG
    channel = args.channel
    out = Path(args.out) if args.out else None
    if channel is None or out is None:
        config = _load(config_path, read_emotes=False)  # the file may not exist yet
        if channel is None:
            if config.twitch is None:
                raise _ConfigExit(
                    [f"{config_path}: twitch.owner_id is not set (or pass --channel)"]
                )
            channel = config.twitch.owner_id
        if out is None:
            lists = config.filters.emote_lists
            out = Path(lists[0]) if lists else Path("emotes.txt")
            out = out if out.is_absolute() else config_path.parent / out
    if not str(channel).isdigit():
        raise _ConfigExit([f"--channel: {channel!r} is not a numeric Twitch user id"])
    sources = Sources(args.seventv_url, args.bttv_url, args.ffz_url, not args.no_global)
    fetched = asyncio.run(fetch_emotes(str(channel), sources))
    for line in fetched.failed:
        print(f"emotes: {line}", file=sys.stderr)
    if not fetched.reached:
        print("emotes: no provider answered; the file is unchanged", file=sys.stderr)
        return EXIT_FAILURE
    header = f"emote names of Twitch channel {channel} ({', '.join(fetched.reached)})"
    write_emote_file(out, fetched.names, header)
    print(f"{out}: {len(fetched.names)} emote names ({'; '.join(fetched.reached)})")
    return EXIT_OK


def _devices() -> int:
    from .audio.outputs import OutputError, list_output_devices

    try:
        devices = list_output_devices()
    except OutputError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILURE
    if not devices:
        print("no output devices found (use audio.output: file:session.wav or none)")
        return EXIT_OK
    for d in devices:
        mark = "*" if d.is_default else " "
        print(f"{mark} {d.index:3}  {d.name}  ({d.channels} ch, {int(d.default_rate)} Hz)")
    print('* = default. Set audio.output to a part of a name, e.g. output: "pulse".')
    return EXIT_OK
