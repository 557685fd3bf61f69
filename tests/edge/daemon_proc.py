"""The daemon as a child process (`bot.py run`), as systemd or a user runs it,
against the local Twitch simulator and the fake Cartesia server."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from streamer_tts.twitch_sim import TwitchSim
from tests.fakes import cartesia_server
from tests.fakes.cartesia_server import FakeCartesiaServer

__all__ = ["ROOT", "read_log", "start_daemon", "write_config"]

ROOT = Path(__file__).resolve().parents[2]


def read_log(path: Path) -> list[dict[str, Any]]:
    """JSON lines; a line cut by SIGKILL mid-write is skipped."""
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def write_config(
    tmp: Path, sim: TwitchSim, cart: FakeCartesiaServer, run: int, **extra: Any
) -> Path:
    tokens = tmp / "tokens.json"
    if not tokens.exists():
        sim.write_tokens_file(tokens)
    config = {
        "twitch": sim.twitch_config(tokens),
        "engine": {
            "primary": "cartesia", "fallback": "none",
            "cartesia": {"api_key": cart.api_key, "voice": cartesia_server.DEFAULT_VOICE_ID,
                         "websocket_url": cart.websocket_url, "base_url": cart.base_url},
        },
        "audio": {"output": f"file:{tmp / f'heard-{run:02d}.wav'}", "gap_ms": 20},
        "logging": {"format": "json", "file": str(tmp / "events.log")},
        "api": {"port": 0},
        "daemon": {"state_dir": str(tmp / "state"), "stop_grace_seconds": 1},
        "limits": {"per_user": None, "global": None, "max_pending_per_user": None},
        "queue": {"max_size": 1000},
        "sources": {"read_usernames": "never"},
    }  # fmt: skip
    config |= extra
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


async def spawn_daemon(config: Path, err: Path) -> asyncio.subprocess.Process:
    """`bot.py run` in a process of its own, its stderr into ``err``."""
    with err.open("wb") as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "bot.py"),
            "run",
            "--config",
            str(config),
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )


async def start_daemon(config: Path, log: Path, ready_before: int) -> asyncio.subprocess.Process:
    err = config.parent / f"daemon-{ready_before:02d}.err"
    proc = await spawn_daemon(config, err)
    for _ in range(300):
        await asyncio.sleep(0.05)
        if log.exists() and sum(r["event"] == "bot.ready" for r in read_log(log)) > ready_before:
            return proc
        if proc.returncode is not None:
            break
    if proc.returncode is None:
        proc.kill()
        await proc.wait()
    raise AssertionError(
        f"the daemon did not get ready (exit {proc.returncode}): {err.read_text()[-2000:]}"
    )
