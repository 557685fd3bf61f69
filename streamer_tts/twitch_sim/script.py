"""Scripts for the Twitch simulator: loading them, and the CLI.

A script is a list of `{at: seconds, do: action, ...}` steps (YAML, a
`{script: [...]}` mapping, or a `.py` file defining `SCRIPT`); every step is
checked before any plays (:mod:`.steps`), so a typo fails at load, not mid-demo.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import runpy
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .server import TwitchSim
from .steps import ScriptError, play, validate_script

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

__all__ = ["ScriptError", "load_script", "main", "play", "validate_script"]


def load_script(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """A YAML list of steps (or ``{script: [...]}``), or a Python file defining ``SCRIPT``."""
    path = Path(path)
    if path.suffix == ".py":
        data: Any = runpy.run_path(str(path)).get("SCRIPT")
    else:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data = data.get("script") if isinstance(data, dict) else data
    if not isinstance(data, list):
        raise ScriptError(f"{path}: expected a list of steps")
    return validate_script(data)


async def _serve(args: argparse.Namespace, script: list[dict[str, Any]] | None) -> None:
    serving = asyncio.current_task()
    assert serving is not None
    for sig in (signal.SIGINT, signal.SIGTERM):  # stop cleanly: clients get 1001, not a reset
        asyncio.get_running_loop().add_signal_handler(sig, serving.cancel)
    async with TwitchSim(host=args.host, port=args.port) as sim:
        sim.write_tokens_file(args.tokens)
        snippet = sim.config_snippet(args.tokens)
        print(f"Twitch simulator on {sim.url}; for config.yaml:\n\n{snippet}", flush=True)
        with contextlib.suppress(asyncio.CancelledError):
            if script is not None:
                print("Waiting for the bot to subscribe to channel.chat.message ...", flush=True)
                await sim.wait_subscribed(["channel.chat.message"], timeout=None)
                await sim.play(script, speed=args.speed)
                print("Script finished; still serving (Ctrl-C stops).", flush=True)
            await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m streamer_tts.twitch_sim", description="A local Twitch simulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--script", type=Path, help="YAML or .py steps to play once the bot is in")
    parser.add_argument("--speed", type=float, default=1.0, help="script time divisor, 2: faster")
    parser.add_argument(
        "--tokens", type=Path, default=Path("sim.tokens.json"), help="file to write"
    )
    args = parser.parse_args(argv)
    try:
        script = load_script(args.script) if args.script else None
    except (OSError, yaml.YAMLError, ScriptError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args, script))
    return 0
