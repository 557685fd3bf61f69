"""`emotes --fetch` against local fakes of the 7TV, BTTV and FFZ APIs, then the
file it writes feeding `filters.emote_lists`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from streamer_tts.config import load_config, to_rules
from streamer_tts.core.filters import clean
from streamer_tts.emotes import Sources, fetch_emotes
from tests.fakes.emote_apis import EmoteApis, emote_apis

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]


def sources(apis: EmoteApis, include_global: bool = True) -> Sources:
    return Sources(f"{apis.url}/7tv", f"{apis.url}/bttv", f"{apis.url}/ffz", include_global)


async def test_every_provider_channel_and_global() -> None:
    async with emote_apis("654321") as apis:
        got = await fetch_emotes("654321", sources(apis))
    assert got.names == {"KEKW", "Clap", "EZ", "catJAM", "pepeD", "monkaS", "LULW", "ZreknarF"}
    assert not got.failed and len(got.reached) == 6


async def test_a_provider_down_or_unknown_channel_is_one_line() -> None:
    async with emote_apis("654321") as apis:
        apis.down.add("bttv")
        apis.seventv.append("has space")  # not an emote name: skipped
        got = await fetch_emotes("654321", sources(apis, include_global=False))
        assert got.names == {"KEKW", "Clap", "LULW"}
        assert [line.split(":")[0] for line in got.failed] == ["BTTV channel"]
        assert "503" in got.failed[0]
        unknown = await fetch_emotes("111", sources(apis, include_global=False))
        assert unknown.names == frozenset() and len(unknown.failed) == 1  # 404: no emotes there


async def test_cli_writes_the_file_the_config_reads(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("filters:\n  emote_lists: [lists/emotes.txt]\n", encoding="utf-8")
    async with emote_apis("654321") as apis:
        args = [
            sys.executable, "bot.py", "emotes", "--fetch", "--config", str(config),
            "--channel", "654321",
            "--7tv-url", f"{apis.url}/7tv", "--bttv-url", f"{apis.url}/bttv",
            "--ffz-url", f"{apis.url}/ffz",
        ]  # fmt: skip
        done = await asyncio.to_thread(
            subprocess.run, args, cwd=REPO, capture_output=True, text=True, timeout=30
        )
    assert done.returncode == 0, done.stderr
    assert "8 emote names" in done.stdout
    written = (tmp_path / "lists" / "emotes.txt").read_text(encoding="utf-8")
    assert written.startswith("# emote names of Twitch channel 654321")
    rules = to_rules(load_config(config, env={}))
    assert clean("KEKW that catJAM was great LULW", rules.filters).text == "that was great"


def test_cli_with_nothing_reachable_exits_1_and_keeps_the_file(tmp_path: Path) -> None:
    out = tmp_path / "emotes.txt"
    out.write_text("Kept\n", encoding="utf-8")
    dead = "http://127.0.0.1:9"
    args = [
        sys.executable, "bot.py", "emotes", "--fetch", "--channel", "1", "--out", str(out),
        "--7tv-url", dead, "--bttv-url", dead, "--ffz-url", dead,
    ]  # fmt: skip
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "no provider answered" in done.stderr and "Traceback" not in done.stderr
    assert out.read_text(encoding="utf-8") == "Kept\n"
