"""No acknowledgement is a lie: durability and failure, as announced.

* A journal write that fails: the control API answers 503 and the retry is
  queued once; a Twitch event (no retry possible) is still read, but logged
  `journal.degraded`, counted and shown in systemd's status line.
* A paid acceptance is committed with an fsync (synchronous=FULL), a free one not.
* A message no engine can speak (the real Cartesia SDK against a fake server
  failing every request, `engine.fallback: none`) is retried
  `engine.retries` times, then `tts.failed` with `final: true`, never
  `tts.finished`; a paid one stays in the journal as failed, across a
  restart, and shows in the history (the dashboard's Replay).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from streamer_tts import logs
from streamer_tts.api.server import ControlApi
from streamer_tts.config.schema import Config
from streamer_tts.core import records
from streamer_tts.core.events import ChatTTS, Cheer, User
from streamer_tts.daemon import Daemon
from streamer_tts.journal import Journal, JournalError, State
from tests.edge.conductor_rig import Rig
from tests.fakes.cartesia_server import FakeCartesiaServer
from tests.fakes.tone_engine import ToneEngine

pytestmark = pytest.mark.timeout(60)


class FlakyDisk(Journal):
    """The real journal, but its writes fail while `broken` (a full or dying disk)."""

    broken = False
    syncs: list[bool]

    def apply(self, ops: Sequence[records.Op], *, full_sync: bool = False) -> list[str]:
        self.syncs.append(full_sync)
        if self.broken:
            raise JournalError(f"journal {self.path}: write failed: disk I/O error")
        return super().apply(ops, full_sync=full_sync)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[FlakyDisk]:
    journal = FlakyDisk.open(tmp_path / "state")
    assert isinstance(journal, FlakyDisk)
    journal.syncs = []
    yield journal
    journal.close()


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.setblocking(False)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        yield sock


async def test_api_gets_503_and_its_retry_is_queued_once(disk: FlakyDisk) -> None:
    rig = Rig([ToneEngine()], disk)
    api = ControlApi(rig.conductor, token="t" * 32, host="127.0.0.1", port=0)
    donation = {"type": "donation", "donor_name": "Ann", "amount": 5.0, "message": "tone 440 0.2"}
    async with rig.running():
        rig.conductor.submit(ChatTTS(id="busy", user=User("v"), message="tone 300 0.5"))
        await rig.wait(logs.TTS_STARTED, "busy")  # the tip would wait behind it
        disk.broken = True
        reply, status = await api.handle({**donation, "id": "tip-1"})
        assert status == 503 and reply["ok"] is False and "journal" in reply["error"]
        assert rig.conductor.snapshot()["queue"] == []  # nothing queued
        disk.broken = False
        reply, status = await api.handle({**donation, "id": "tip-1"})
        assert (status, reply["ok"]) == (200, True)
        again, _ = await api.handle({**donation, "id": "tip-1"})
        assert again.get("duplicate") is True
        await rig.settle()
    accepted = [e["id"] for e in rig.events if e["event"] == logs.TTS_ACCEPTED]
    assert accepted.count("api:tip-1") == 1  # the refused one was never announced
    finished = [e["id"] for e in rig.events if e["event"] == logs.TTS_FINISHED]
    assert finished == ["busy", "api:tip-1"]
    assert rig.conductor.announcer.degraded == 0


async def test_twitch_event_is_read_but_degraded_counted_and_shown(
    disk: FlakyDisk, notify_socket: socket.socket
) -> None:
    rig = Rig([ToneEngine()], disk)
    async with rig.running():
        disk.broken = True
        rig.conductor.submit(
            Cheer(id="c1", user=User("fan"), amount_bits=100, message="tone 500 0.2")
        )
        await rig.wait(logs.TTS_FINISHED, "c1")
        disk.broken = False  # the disk is back: so is the status line
        rig.conductor.submit(
            Cheer(id="c2", user=User("fan"), amount_bits=100, message="tone 600 0.1")
        )
        await rig.wait(logs.TTS_FINISHED, "c2")
    degraded = [e for e in rig.events if e["event"] == "journal.degraded"]
    assert degraded and "disk I/O error" in degraded[0]["error"]
    assert rig.conductor.announcer.degraded == len(degraded) >= 1
    names = [e["event"] for e in rig.events]
    assert names.index("journal.degraded") < names.index(logs.TTS_ACCEPTED)
    sent = []
    while True:
        try:
            sent.append(notify_socket.recv(4096).decode())
        except BlockingIOError:
            break
    statuses = [m for m in sent if m.startswith("STATUS=journal")]
    assert statuses[0].startswith("STATUS=journal degraded"), sent
    assert statuses[-1].startswith("STATUS=journal writing again"), sent


async def test_a_paid_acceptance_is_fsynced_a_free_one_not(disk: FlakyDisk) -> None:
    rig = Rig([ToneEngine()], disk)
    async with rig.running():
        rig.conductor.submit(ChatTTS(id="free", user=User("v"), message="tone 300 0.1"))
        await rig.settle()
        first = len(disk.syncs)
        rig.conductor.submit(Cheer(id="paid", user=User("w"), amount_bits=100, message="hi"))
        await rig.wait(logs.TTS_ACCEPTED, "paid")
    assert disk.syncs[0] is False and disk.syncs[first] is True
    assert disk.get("paid") is not None


async def test_a_message_no_engine_can_speak_fails_after_retries_and_stays_failed(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    async with FakeCartesiaServer() as server:
        config = Config.model_validate(
            {
                "engine": {
                    "primary": "cartesia",
                    "fallback": "none",
                    "retries": 2,
                    "cartesia": {
                        "api_key": server.api_key,
                        "voice": next(iter(server.voices)),
                        "websocket_url": server.websocket_url,
                        "base_url": server.base_url,
                        "timeout_seconds": 2,
                    },
                },
                "audio": {"output": "none", "sample_rate": 22050},
            }
        )
        journal = Journal.open(state)
        daemon = Daemon(config, journal=journal)
        daemon.player.retry_backoff_s = 0.05
        events: list[dict[str, Any]] = []
        remove = logs.add_listener(events.append)
        try:
            await daemon.start()
            server.fail_next(100)  # every request from now on
            daemon.conductor.submit(
                Cheer(id="c9", user=User("fan"), amount_bits=300, message="thanks")
            )
            for _ in range(200):
                if any(e["event"] == logs.TTS_FAILED and e.get("final") for e in events):
                    break
                await asyncio.sleep(0.05)
            history = await daemon.conductor.history()
        finally:
            await daemon.stop(grace_s=0)
            journal.close()
            remove()
    failed = [e for e in events if e["event"] == logs.TTS_FAILED and e["id"] == "c9"]
    assert [bool(e.get("final")) for e in failed] == [False, False, False, True]
    assert failed[-1]["engine"] == "cartesia" and failed[-1]["error"]
    assert not [e for e in events if e["event"] == logs.TTS_FINISHED]
    assert [(h["id"], h["state"]) for h in history] == [("c9", "failed")]
    with Journal.open(state) as again:  # a restart: still failed, not pending, in the history
        entry = again.get("c9")
        assert entry is not None and entry.state is State.FAILED and entry.reason
        assert again.pending() == [] and again.interrupted() == []
        assert [e.message.id for e in again.history()] == ["c9"]
