"""sd_notify against real unix datagram sockets, and the unit file."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamer_tts import systemd

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "streamer-tts.service"


def _drain(sock: socket.socket) -> list[str]:
    out: list[str] = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A socket bound on a path, as systemd's system manager offers."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.setblocking(False)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        yield sock


@pytest.fixture
def abstract_socket(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A socket in the abstract namespace (``@...``), as user managers offer."""
    name = f"streamer-tts-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.setblocking(False)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        yield sock


def test_without_systemd_everything_is_a_quiet_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert systemd.notify("READY=1") is False
    assert (systemd.ready(), systemd.stopping(), systemd.status("x")) == (False, False, False)
    assert systemd.watchdog_interval_s() is None


def test_messages_on_a_path_socket(notify_socket: socket.socket) -> None:
    assert systemd.ready()
    assert systemd.status("speaking:\n  3 waiting ")
    assert systemd.stopping()
    assert _drain(notify_socket) == ["READY=1", "STATUS=speaking: 3 waiting", "STOPPING=1"]


def test_messages_on_an_abstract_socket(abstract_socket: socket.socket) -> None:
    assert systemd.ready()
    assert systemd.notify("WATCHDOG=1")
    assert _drain(abstract_socket) == ["READY=1", "WATCHDOG=1"]


def test_reloading_carries_the_monotonic_time(notify_socket: socket.socket) -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert systemd.reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    (sent,) = _drain(notify_socket)
    match = re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=(\d+)", sent)
    assert match and before <= int(match[1]) <= after


def test_a_missing_socket_is_false_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    assert systemd.ready() is False
    monkeypatch.setenv("NOTIFY_SOCKET", "vsock:2:1234")  # not ours to handle
    assert systemd.ready() is False


def test_watchdog_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    assert systemd.watchdog_interval_s() == 30.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert systemd.watchdog_interval_s() == 30.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))  # meant for our parent
    assert systemd.watchdog_interval_s() is None
    monkeypatch.delenv("WATCHDOG_PID")
    for bad in ("0", "-5", "soon", ""):
        monkeypatch.setenv("WATCHDOG_USEC", bad)
        assert systemd.watchdog_interval_s() is None


async def test_watchdog_pings_at_half_the_interval(notify_socket: socket.socket) -> None:
    task = asyncio.create_task(systemd.watchdog_loop(0.2))
    await asyncio.sleep(0.55)  # pings at 0, .1, .2, .3, .4, .5
    task.cancel()
    pings = _drain(notify_socket)
    assert set(pings) == {"WATCHDOG=1"}
    assert 5 <= len(pings) <= 7


async def test_a_stuck_loop_stops_the_pings(notify_socket: socket.socket) -> None:
    task = asyncio.create_task(systemd.watchdog_loop(0.1))
    await asyncio.sleep(0.12)
    assert len(_drain(notify_socket)) >= 2
    time.sleep(0.3)  # the loop is blocked: systemd must see silence
    assert _drain(notify_socket) == []
    await asyncio.sleep(0.01)
    assert _drain(notify_socket) == ["WATCHDOG=1"]  # and pings again once it runs
    task.cancel()


# --- the unit file ----------------------------------------------------------------


def test_the_unit_declares_what_the_daemon_relies_on() -> None:
    settings = [line for line in UNIT.read_text().splitlines() if not line.startswith("#")]
    lines = dict(line.split("=", 1) for line in settings if "=" in line)
    assert lines["Type"] == "notify" and lines["NotifyAccess"] == "main"
    assert lines["WatchdogSec"] == "30" and lines["Restart"] == "on-failure"
    assert float(lines["TimeoutStopSec"]) > 5.0  # above the daemon's stop grace
    assert lines["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert lines["WantedBy"] == "default.target"
    for unprivileged_impossible in ("PrivateTmp", "ProtectSystem", "ProtectHome", "User"):
        assert unprivileged_impossible not in lines


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_systemd_analyze_verify_accepts_the_user_unit(tmp_path: Path) -> None:
    """Verify as the user manager would load it, with %h at a fake checkout."""
    home = tmp_path / "home"
    (home / "streamer-tts" / ".venv" / "bin").mkdir(parents=True)
    (home / "streamer-tts" / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (home / "streamer-tts" / "bot.py").touch()
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    result = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(UNIT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, output
    assert output == ""  # no "Unknown key", no "ignoring": every line is understood
