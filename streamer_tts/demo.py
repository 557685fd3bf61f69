"""`make demo`: the full daemon on a scripted minute of a stream.

A local Twitch simulator (the same one the tests use) plays the script in
`demo_assets/script.yaml`; the real TwitchIO bot receives it, the admission
core decides, and offline voices speak (Piper, a slower Piper, eSpeak: a
viewer picks one with `!voice`, the big cheer's tier has its own, after a
chime), to the speakers or, on a machine without a sound device, to
`demo.wav`. Each decision prints as one
readable line. A moderator skips the long message once it is playing.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from . import logs
from .audio.noise import filter_native_stderr
from .config import Config, parse_config
from .daemon import Daemon, serve
from .tips.fakes.demo import DemoProviders, demo_providers
from .twitch_sim import TwitchSim
from .twitch_sim.script import load_script

__all__ = ["run_demo"]

MOD = "modmia"
SKIPPED_USER = "gina"  # the long message the moderator skips


def _demo_output() -> str:
    """Speakers if the machine has a sound device, else `demo.wav`."""
    from .audio.outputs import OutputError, find_output_device

    try:
        find_output_device("default")
    except OutputError:
        return "file:demo.wav"
    return "default"


def _config(sim: TwitchSim, tmp: Path, output: str, tips: DemoProviders) -> Config:
    text = resources.files("streamer_tts.demo_assets").joinpath("config.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    data["twitch"] = sim.twitch_config(sim.write_tokens_file(tmp / "tokens.json"))
    data["audio"]["output"] = output
    data["daemon"] = {"state_dir": str(tmp / "state")}
    data["sources"] = {**data.get("sources", {}), **tips.sources()}
    return parse_config(yaml.safe_dump(data), env={}, origin="demo config")


async def _mod_skips(sim: TwitchSim) -> None:
    """The moderator's `!skip`, 1.5 s into the long message."""
    started = asyncio.Event()

    def watch(record: dict[str, Any]) -> None:
        if record["event"] == logs.TTS_STARTED and record.get("user") == SKIPPED_USER:
            started.set()

    remove = logs.add_listener(watch)
    try:
        await started.wait()
        await asyncio.sleep(1.5)
        await sim.chat(MOD, "!skip")
    finally:
        remove()


def _show_api(daemon: Daemon) -> None:
    """Where to watch the demo live, and a donation to send it (this run's token)."""
    api = daemon.api
    if api is None:
        return
    print(f"\n  dashboard: {api.url}/dashboard?token={api.token}")
    print(f"  overlay:   {api.url}/overlay?token={api.overlay_token}  (read-only token)")
    print(
        f"  a donation: curl -s -H 'Authorization: Bearer {api.token}' -X POST "
        f'{api.url}/api/donation -d \'{{"donor_name": "JohnDoe", "amount": 25.0, '
        f'"message": "Great stream!"}}\'\n',
        flush=True,
    )


async def _play(sim: TwitchSim, daemon: Daemon, speed: float, tips: DemoProviders) -> None:
    _show_api(daemon)
    with resources.as_file(resources.files("streamer_tts.demo_assets") / "script.yaml") as path:
        script = load_script(path)
    skipper = asyncio.create_task(_mod_skips(sim))
    await sim.play(script, speed=speed)
    if daemon.api is not None:  # one tip from each provider's stand-in
        await tips.send_tips(daemon.api.url)
    await asyncio.sleep(0.5)
    await daemon.conductor.drained()
    await asyncio.sleep(0.3)  # the last fade-out and the output's own buffer
    skipper.cancel()


async def _demo(output: str, speed: float) -> int:
    with tempfile.TemporaryDirectory(prefix="streamer-tts-demo-") as tmp:
        async with TwitchSim(moderators=["ttsbot", MOD]) as sim, demo_providers() as tips:
            config = _config(sim, Path(tmp), output, tips)
            return await serve(config, until=lambda d: _play(sim, d, speed, tips))


def run_demo(*, fast: bool = False) -> int:
    filter_native_stderr()
    logs.setup_logging(format="text", stream=sys.stdout)
    for noisy in ("twitchio", "aiohttp", "streamer_tts.twitch_sim"):
        logs.quiet(noisy)
    output = _demo_output()
    where = "the speakers" if output == "default" else "demo.wav (no sound device here)"
    print("streamer-tts demo: a local Twitch simulator plays a scripted stream;")
    print(f"the daemon reads it with three offline voices to {where}.\n")
    t0 = time.monotonic()
    code = 1
    with contextlib.suppress(KeyboardInterrupt):
        code = asyncio.run(_demo(output, speed=4.0 if fast else 1.0))
    tail = "; listen with: play demo.wav" if output != "default" else ""
    print(f"\ndemo finished in {time.monotonic() - t0:.1f} s{tail}")
    return code
