"""Nothing paid is lost: the daemon SIGKILLed at random points, 30 times.

The real daemon (`bot.py run`, a child process) reads a flood of paid and
free messages from the local Twitch simulator, speaking through the real
Cartesia SDK against the fake Cartesia server (fast audio) into WAV files,
and is killed with SIGKILL at a random moment, then started again. At the
end, judged only from the event log and the recordings: every accepted
paid message was heard completely at least once; a kill lets at most one
message be heard twice (the one it cut), and none when it fell between
messages; the order respected priority.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streamer_tts.twitch_sim import TwitchSim
from tests.edge.daemon_proc import read_log, start_daemon, write_config
from tests.fakes import cartesia_server
from tests.fakes.cartesia_server import FakeCartesiaServer

ROOT = Path(__file__).resolve().parents[2]
KILLS = 30
DRAIN_POLLS = 2400  # 0.1 s each: the drain is judged done, not timed
PRIORITY = {"low": 0, "normal": 1, "high": 2, "urgent": 3}

pytestmark = pytest.mark.timeout(600)


async def flood(sim: TwitchSim, rng: random.Random, n: int) -> None:
    for _ in range(n):
        who = f"viewer{rng.randrange(1000)}"
        roll = rng.random()
        if roll < 0.4:
            await sim.cheer(who, rng.choice([100, 500, 1000]), f"cheer {rng.randrange(10**6)}")
        elif roll < 0.5:
            await sim.resub(who, rng.randint(2, 30), "resub message")
        else:
            await sim.chat(who, f"!tts free message {rng.randrange(10**6)}")


def finished_in_journal(tmp: Path) -> set[str]:
    """Ids the journal holds as heard to the end.

    Only readable while no daemon runs: a running daemon holds the file's
    exclusive lock (`locking_mode=EXCLUSIVE`), and a read would wait, then fail.
    """
    path = tmp / "state" / "journal.sqlite3"
    if not path.exists():
        return set()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0)
    try:
        return {row[0] for row in db.execute("SELECT id FROM messages WHERE state = 'finished'")}
    finally:
        db.close()


def audible_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2")
        rate = w.getframerate()
    window = rate // 100
    n = len(data) // window
    rms = np.sqrt((data[: n * window].astype(np.float64).reshape(n, window) ** 2).mean(axis=1))
    return float((rms > 500).sum() * window / rate)


async def test_sigkill_30_times_loses_no_paid_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, report: Callable[[str], None]
) -> None:
    monkeypatch.setattr(cartesia_server, "MS_PER_CHAR", 4)  # ~0.1 s per message
    rng = random.Random(2026)
    log = tmp_path / "events.log"
    async with TwitchSim() as sim, FakeCartesiaServer() as cart:
        for run in range(KILLS):
            config = write_config(tmp_path, sim, cart, run)
            proc = await start_daemon(config, log, ready_before=run)
            await flood(sim, rng, rng.randint(3, 12))
            await asyncio.sleep(rng.uniform(0.0, 0.8))
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        # A kill between the journal's commit of "finished" and its log line
        # leaves only the journal knowing; read it now, while no daemon holds it.
        heard_before = finished_in_journal(tmp_path)
        # the last run drains the queue and stops cleanly
        config = write_config(tmp_path, sim, cart, KILLS)
        proc = await start_daemon(config, log, ready_before=KILLS)
        # a loaded machine may need minutes to read ~200 waiting messages
        for _ in range(DRAIN_POLLS):
            await asyncio.sleep(0.1)
            records = read_log(log)
            accepted = {r["id"] for r in records if r["event"] == "tts.accepted" and r["paid"]}
            done = {r["id"] for r in records if r["event"] in ("tts.finished", "tts.dropped")}
            if accepted <= done | heard_before:
                break
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0

    records = read_log(log)
    paid = {r["id"]: r for r in records if r["event"] == "tts.accepted" and r["paid"]}
    finished: dict[str, int] = {}
    started: dict[str, int] = {}
    for r in records:
        if r["event"] == "tts.finished":
            finished[r["id"]] = finished.get(r["id"], 0) + 1
        elif r["event"] == "tts.started":
            started[r["id"]] = started.get(r["id"], 0) + 1
    # A kill between the journal's commit of "finished" and the log line that
    # follows it loses only the line: the journal (the record of truth) says heard.
    in_journal = finished_in_journal(tmp_path)
    lost = [m for m in paid if finished.get(m, 0) == 0 and m not in in_journal]
    twice = [m for m in paid if finished.get(m, 0) > 1]
    replayed = [m for m in paid if started.get(m, 0) > 1]
    report(
        f"crash: {KILLS} kills, {len(paid)} paid accepted, {len(lost)} lost, "
        f"{len(replayed)} replayed"
    )
    assert len(paid) > 2 * KILLS
    failed = {r["id"] for r in records if r["event"] == "tts.failed" and r.get("final")}
    assert not lost, (
        f"paid messages never heard: {lost} (final failures among them: "
        f"{sorted(failed & set(lost))})"
    )
    assert len(twice) <= KILLS, "heard twice beyond the ones cut by a kill"
    assert len(replayed) <= KILLS
    assert_replays_only_what_a_kill_cut(records, KILLS)
    assert_priority_order(records)
    heard_s = sum(audible_seconds(p) for p in tmp_path.glob("heard-*.wav"))
    assert heard_s > 0.5 * len(paid) * 0.05  # the recordings hold the reading, not silence


ENDED = ("tts.finished", "tts.skipped", "tts.dropped", "tts.failed")


def assert_replays_only_what_a_kill_cut(records: list[dict[str, Any]], kills: int) -> None:
    """Per killed run: at most one message was sounding at the kill (started, not
    ended), and only that one may start again later; one that ended never does."""
    runs: list[list[dict[str, Any]]] = []
    for r in records:
        if r["event"] == "daemon.started":
            runs.append([])
        elif runs:
            runs[-1].append(r)
    assert len(runs) == kills + 1
    for k, run in enumerate(runs[:kills]):
        started = [r["id"] for r in run if r["event"] == "tts.started"]
        ended = {r["id"] for r in run if r["event"] in ENDED and not _retrying(r)}
        requeued = {r["id"] for r in run if r["event"] == "tts.interrupted"}
        cut = set(started) - ended - requeued  # sounding when the kill came
        assert len(cut) <= 1, f"kill {k}: {sorted(cut)} were all sounding at once"
        later = {r.get("id") for run_after in runs[k + 1 :] for r in run_after}
        done_here = {m for m in ended if m in started}
        again = {m for m in done_here if m in later and _started_in(runs[k + 1 :], m)}
        assert not again, f"kill {k}: {sorted(again)} ended before the kill, read again"


def _retrying(record: dict[str, Any]) -> bool:
    return record["event"] == "tts.failed" and not record.get("final")


def _started_in(runs: list[list[dict[str, Any]]], message_id: str) -> bool:
    return any(r["event"] == "tts.started" and r["id"] == message_id for run in runs for r in run)


def assert_priority_order(records: list[dict[str, Any]]) -> None:
    """No message starts while one of higher priority, accepted well before, waits."""
    waiting: dict[str, tuple[int, str]] = {}  # id -> (priority, accepted ts)
    for r in records:
        event = r["event"]
        if event == "tts.accepted":
            waiting[r["id"]] = (PRIORITY[r["priority"]], r["ts"])
        elif event in ("tts.finished", "tts.dropped", "tts.skipped"):
            waiting.pop(r["id"], None)
        elif event == "tts.started" and r["id"] in waiting:
            mine = waiting[r["id"]][0]
            ts = r["ts"]
            ahead = [
                mid
                for mid, (prio, accepted_ts) in waiting.items()
                if prio > mine and _seconds(ts) - _seconds(accepted_ts) > 1.0
            ]
            assert not ahead, f"{r['id']} (priority {mine}) started while {ahead} waited"


def _seconds(ts: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
