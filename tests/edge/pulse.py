"""A private PulseAudio server and a recorder of its null sink, for sound tests.

Real-time behaviour (skip latency, gaps, overlap) can only be judged at a
sound server that consumes audio at the speaker's pace. This module starts a
*private* PulseAudio daemon (own runtime dir, own HOME and cookie, never the
user's server) with one null sink, and records that sink's monitor with
``parec`` so tests can see exactly what a listener would have heard, and when.

Used by ``tests/edge/conftest.py`` (fixture ``pulse_server``) and by
``bench/sound.py`` (which adds the repo root to ``sys.path``).

Environment the client side needs (set by :func:`client_env`):
``PULSE_SERVER`` (the private socket), ``PULSE_COOKIE``, ``PULSE_RUNTIME_PATH``
and ``PULSE_CLIENTCONFIG`` (``autospawn = no``, so a dead test server never
makes libpulse start the user's own).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

__all__ = [
    "MONITOR",
    "SINK",
    "PulseServer",
    "PulseStartError",
    "Recorder",
    "client_env",
    "private_pulse",
    "pulse_available",
    "pulse_recorder",
    "pulse_server",
]

SINK = "tts_sink"
MONITOR = f"{SINK}.monitor"
RECORD_RATE = 22050
_ALIGN_WINDOW_S = 2.0
"""Clock alignment uses deliveries within this distance of the frame asked
about, so a slow drift between sink and monotonic clock cannot bias it."""


class PulseStartError(RuntimeError):
    """The private server did not come up (the log is in the message)."""


def pulse_available() -> bool:
    """Sound tests skip only when the daemon itself is missing."""
    return shutil.which("pulseaudio") is not None


@dataclass(slots=True)
class PulseServer:
    """Where the private server listens and what a client must be told."""

    root: Path
    socket: Path
    cookie: Path
    client_config: Path
    process: subprocess.Popen[bytes]
    daemon_env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None

    @property
    def address(self) -> str:
        return f"unix:{self.socket}"

    def client_environ(self) -> dict[str, str]:
        return {
            "PULSE_SERVER": self.address,
            "PULSE_COOKIE": str(self.cookie),
            "PULSE_RUNTIME_PATH": str(self.socket.parent),
            "PULSE_CLIENTCONFIG": str(self.client_config),
        }

    def pactl(self, *args: str, timeout_s: float = 5.0) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **self.client_environ()}
        return subprocess.run(
            ["pactl", *args], env=env, capture_output=True, text=True, timeout=timeout_s
        )

    def sink_latency_s(self) -> float:
        """The null sink's configured latency: how far ahead of play it renders."""
        listing = self.pactl("list", "sinks").stdout
        block = listing.split(f"Name: {SINK}", 1)[-1]
        found = re.search(r"Latency: \d+ usec, configured (\d+) usec", block)
        if found is None:
            raise PulseStartError(f"no latency for {SINK} in pactl output")
        return int(found.group(1)) / 1e6

    def kill(self) -> None:
        """Kill the server outright (SIGKILL), as a crash or a restart by hand does."""
        self.process.kill()
        self.process.wait()

    def start_again(self, *, startup_timeout_s: float = 15.0) -> None:
        """Start a fresh server at the same socket, cookie and sink (after :meth:`kill`)."""
        if self.process.poll() is None:
            raise RuntimeError("the server is still running: kill() it first")
        assert self.log_path is not None
        self.socket.unlink(missing_ok=True)  # a killed server leaves its socket behind
        self.process = _spawn(self.daemon_env, self.log_path)
        _wait_ready(self, self.log_path, startup_timeout_s)
        _default_sink(self)


def _spawn(daemon_env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log_file:
        return subprocess.Popen(
            [
                "pulseaudio",
                "-n",
                "--daemonize=no",
                "--exit-idle-time=-1",
                f"--load=module-null-sink sink_name={SINK}",
                "--load=module-native-protocol-unix",
            ],
            env=daemon_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


def _default_sink(server: PulseServer) -> None:
    done = server.pactl("set-default-sink", SINK)
    if done.returncode != 0:
        raise PulseStartError(f"pactl set-default-sink failed: {done.stderr.strip()}")


@contextmanager
def private_pulse(*, startup_timeout_s: float = 15.0) -> Iterator[PulseServer]:
    """Run a private PulseAudio daemon with the null sink ``tts_sink`` as default."""
    root = Path(tempfile.mkdtemp(prefix="tts-pulse-"))
    home, runtime = root / "home", root / "xdg"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    client_config = root / "client.conf"
    client_config.write_text("autospawn = no\n")
    log_path = root / "pulseaudio.log"
    daemon_env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    daemon_env |= {
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "PULSE_RUNTIME_PATH": str(runtime / "pulse"),
    }
    server = PulseServer(
        root=root,
        socket=runtime / "pulse" / "native",
        cookie=home / ".config" / "pulse" / "cookie",
        client_config=client_config,
        process=_spawn(daemon_env, log_path),
        daemon_env=daemon_env,
        log_path=log_path,
    )
    try:
        _wait_ready(server, log_path, startup_timeout_s)
        _default_sink(server)
        yield server
    finally:
        process = server.process
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(server: PulseServer, log_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        if server.cookie.exists() and server.pactl("info").returncode == 0:
            return
        time.sleep(0.1)
    log = log_path.read_text(errors="replace")[-2000:]
    raise PulseStartError(f"private pulseaudio did not start within {timeout_s} s:\n{log}")


@contextmanager
def client_env(server: PulseServer) -> Iterator[None]:
    """Point this process's PulseAudio clients (PyAudio, ALSA pulse plugin) at ``server``."""
    saved = {k: os.environ.get(k) for k in server.client_environ()}
    os.environ.update(server.client_environ())
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Recorder:
    """Records the sink monitor with ``parec``, timestamping every delivery.

    parec needs about 2 s before its first data: start it well ahead of the
    sound to measure (:meth:`wait_ready`) and map frames to wall time with
    :meth:`frame_time`, never by the start time.
    """

    def __init__(self, server: PulseServer, *, rate: int = RECORD_RATE) -> None:
        self.server = server
        self.rate = rate
        self._data = bytearray()
        self._arrivals: list[tuple[float, int]] = []  # (monotonic, total frames so far)
        self._lock = threading.Lock()
        self._first = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._sink_latency: tuple[float, float] | None = None  # (queried at, seconds)

    def __enter__(self) -> Recorder:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        env = {**os.environ, **self.server.client_environ()}
        self._proc = subprocess.Popen(
            [
                "parec",
                "--raw",
                f"--device={MONITOR}",
                "--format=s16le",
                f"--rate={self.rate}",
                "--channels=1",
                "--latency-msec=10",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._thread = threading.Thread(target=self._read, name="parec-reader", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while chunk := os.read(fd, 4096):
            now = time.monotonic()
            with self._lock:
                self._data += chunk
                self._arrivals.append((now, len(self._data) // 2))
            self._first.set()

    def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Block until parec delivers data (it takes ~2 s after start)."""
        if not self._first.wait(timeout_s):
            raise PulseStartError(f"parec delivered nothing within {timeout_s} s")

    def wait_covered(self, t: float, *, margin_s: float = 0.1, timeout_s: float = 5.0) -> None:
        """Block until everything the sink rendered up to monotonic time ``t`` arrived."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self._arrivals and self._arrivals[-1][0] >= t + margin_s:
                    return
            time.sleep(0.01)
        raise TimeoutError("parec stopped delivering")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=5)
            self._proc = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def samples(self) -> np.ndarray:
        """Everything recorded so far, as int16 mono samples."""
        with self._lock:
            data = bytes(self._data[: len(self._data) // 2 * 2])
        return np.frombuffer(data, dtype="<i2").copy()

    def _offset_near(self, frame: float) -> float:
        """Smallest (arrival time - frame / rate) among deliveries near ``frame``."""
        with self._lock:
            arrivals = np.array(self._arrivals, dtype=np.float64)
        if arrivals.size == 0:
            raise ValueError("nothing recorded yet")
        frames = arrivals[:, 1]
        offsets = arrivals[:, 0] - frames / self.rate
        near = np.abs(frames - frame) <= _ALIGN_WINDOW_S * self.rate
        return float(offsets[near].min() if near.any() else offsets.min())

    def frame_time(self, frame: float) -> float:
        """Monotonic time at which ``frame`` of the recording was rendered.

        Each delivery bounds it from above (data arrives after it was rendered);
        the tightest bound among nearby deliveries is the estimate, late by at
        most parec's smallest delivery delay.
        """
        return self._offset_near(frame) + frame / self.rate

    def heard_time(self, frame: float) -> float:
        """Latest monotonic time at which a listener would hear ``frame``.

        The sink renders up to its configured latency *ahead* of play, and the
        monitor sees audio at render time (PortAudio's DAC-time estimate is
        ~10 ms later than :meth:`frame_time`). Adding that latency gives an
        upper bound: skip latencies measured with it never flatter.
        """
        now = time.monotonic()
        if self._sink_latency is None or now - self._sink_latency[0] > 1.0:
            self._sink_latency = (now, self.server.sink_latency_s())
        return self.frame_time(frame) + self._sink_latency[1]

    def time_frame(self, t: float) -> int:
        """The recording frame rendered at monotonic time ``t`` (inverse of :meth:`frame_time`)."""
        guess = (t - self._offset_near(float("inf"))) * self.rate
        for _ in range(3):  # the alignment window follows the guess; settles at once
            guess = (t - self._offset_near(guess)) * self.rate
        return round(guess)


# ---- pytest fixtures (exposed to tests by tests/edge/conftest.py) --------------


@pytest.fixture(scope="session")
def pulse_server() -> Iterator[PulseServer]:
    """A private PulseAudio server; this process's clients are pointed at it."""
    if not pulse_available():
        pytest.skip("pulseaudio is not installed (apt-get install pulseaudio pulseaudio-utils)")
    with private_pulse() as server, client_env(server):
        yield server


@pytest.fixture(scope="session")
def pulse_recorder(pulse_server: PulseServer) -> Iterator[Recorder]:
    """One parec for the whole session: it costs ~2 s to start."""
    with Recorder(pulse_server) as recorder:
        recorder.wait_ready()
        yield recorder
