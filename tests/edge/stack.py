"""The whole sound path, as the daemon builds it, for tests and `bench/sound.py`.

Conductor -> Player -> engine -> feed -> PyAudio callback stream -> private
PulseAudio null sink, recorded with parec. Figures are taken at the sink:
what a listener would have heard, against the monotonic time events went in.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from streamer_tts import logs
from streamer_tts.audio.devices import FRAMES_PER_BUFFER
from streamer_tts.audio.outputs import native_rate
from streamer_tts.audio.player import Player
from streamer_tts.audio.realtime import NICE_FALLBACK
from streamer_tts.conductor import Conductor
from streamer_tts.core.admission import Admission
from streamer_tts.core.events import ChatTTS, Cheer, Role, Skip, User
from streamer_tts.core.limits import LimitPolicy
from streamer_tts.core.rules import NameMode, Rules
from streamer_tts.limiter import aiolimiter_gate
from tests.edge.pulse import Recorder
from tests.edge.sound_analysis import (
    band_envelope,
    edges,
    inner_silences,
    last_audible_frame,
    overlap_windows,
)
from tests.fakes.cartesia_server import TONE_AMPLITUDE as FAKE_CARTESIA_AMPLITUDE

__all__ = [
    "FREQS_HZ",
    "FakeCartesiaProcess",
    "HeardSplit",
    "Stack",
    "StallProbe",
    "fake_cartesia_process",
    "measure_dropouts",
    "measure_first_audio",
    "measure_gaps",
    "measure_skips",
]

RECORD_RATE = 22050
FREQS_HZ = (500.0, 1700.0, 2900.0)  # far apart: each message's tone is measured alone
TONE_AMPLITUDE = 0.5 * 32767
QUIET = FAKE_CARTESIA_AMPLITUDE / 20
"""The fake Cartesia tone's samples pass below this for well under one sample."""
MOD = User("mod", "Mod", frozenset({Role.MODERATOR}))
RULES = replace(
    Rules(),
    limits=LimitPolicy(per_user=None, global_=None, max_pending_per_user=None),
    read_usernames=NameMode.NEVER,
    queue_max_size=1000,
)


@dataclass
class Stack:
    """One conductor + player on the default (pulse) device."""

    engine: Any
    gap_ms: int
    frames_per_buffer: int = FRAMES_PER_BUFFER
    events: list[dict[str, Any]] = field(default_factory=list)
    loudness_lufs: float | None = None  # the daemon's default is -18 (audio.loudness_lufs)
    output: str = "default"

    async def __aenter__(self) -> Stack:
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(0.001)  # as the daemon does: keep the device callback fed
        self.player = Player(
            engines=[self.engine],
            output=self.output,
            notify=lambda e: None,
            sample_rate=native_rate("default", fallback_hz=RECORD_RATE),
            gap_ms=self.gap_ms,
            max_message_seconds=60,
            frames_per_buffer=self.frames_per_buffer,
            loudness_lufs=self.loudness_lufs,
        )
        self.admission = Admission(RULES, aiolimiter_gate)
        self.conductor = Conductor(self.admission, self.player)
        self._waiters: list[tuple[str, str, asyncio.Future[dict[str, Any]]]] = []
        self._remove = logs.add_listener(self._on_event)
        await self.player.start()
        self._task = asyncio.create_task(self.conductor.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._task.cancel()
        await self.player.close()
        self._remove()
        sys.setswitchinterval(self._switch)

    def _on_event(self, record: dict[str, Any]) -> None:
        self.events.append(record)
        for name, mid, fut in list(self._waiters):
            if record["event"] == name and record.get("id") == mid and not fut.done():
                fut.set_result(record)

    async def wait(self, name: str, mid: str, timeout_s: float = 15.0) -> dict[str, Any]:
        for record in self.events:
            if record["event"] == name and record.get("id") == mid:
                return record
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((name, mid, fut))
        return await asyncio.wait_for(fut, timeout_s)

    def say(self, mid: str, text: str, who: str = "viewer") -> float:
        """Submit a chat message; returns the monotonic time it went in."""
        t = time.monotonic()
        self.conductor.submit(ChatTTS(id=mid, user=User(who), message=text))
        return t

    def cheer(self, mid: str, text: str, bits: int = 500, who: str = "cheerer") -> float:
        """Submit a paid message (a cheer); returns the monotonic time it went in."""
        t = time.monotonic()
        self.conductor.submit(Cheer(id=mid, user=User(who), message=text, amount_bits=bits))
        return t

    def ids(self, name: str) -> list[str]:
        return [e["id"] for e in self.events if e["event"] == name]


def _tone_text(freq: float, seconds: float) -> str:
    return f"tone {freq:g} {seconds:g}"


async def measure_skips(
    stack: Stack, rec: Recorder, count: int, *, seed: int = 1
) -> tuple[list[float], int]:
    """Skip command in -> last audible sample at the sink (ms), and overlap windows.

    Messages queue up behind each other, so each skip hands over to the next
    one: the overlap count checks that the cut one is gone before it starts.
    """
    rng = random.Random(seed)
    commands: list[float] = []
    t0 = time.monotonic()
    for i in range(count):
        mid = f"skip{i}-{seed}"
        if i == 0:
            stack.say(mid, _tone_text(FREQS_HZ[i % 3], 3.0))
        if i + 1 < count:  # the next one waits behind, prefetched
            stack.say(f"skip{i + 1}-{seed}", _tone_text(FREQS_HZ[(i + 1) % 3], 3.0))
        await stack.wait(logs.TTS_STARTED, mid)
        await asyncio.sleep(rng.uniform(0.25, 0.45))  # land anywhere in a device buffer
        commands.append(time.monotonic())
        stack.conductor.submit(Skip(by=MOD))
        await stack.wait(logs.TTS_SKIPPED, mid)
    await asyncio.sleep(0.2)
    await asyncio.to_thread(rec.wait_covered, time.monotonic())
    samples = rec.samples()
    out = []
    for t_cmd in commands:
        last = last_audible_frame(samples, RECORD_RATE, rec.time_frame(t_cmd))
        if last is None:
            raise AssertionError("the message was not sounding when it was skipped")
        out.append((rec.heard_time(last) - t_cmd) * 1000)
    span = samples[rec.time_frame(t0) :]
    envs = [band_envelope(span, RECORD_RATE, f) for f in FREQS_HZ]
    return out, overlap_windows(envs, [TONE_AMPLITUDE] * 3, RECORD_RATE)


class StallProbe:
    """How long this process could not run: a thread that wakes every 2 ms.

    A wake-up much later than asked means the machine (or the interpreter
    lock) kept every thread of ours waiting: no player can keep a device fed
    through that, so a sound measurement spoiled by it may be taken again.
    """

    PERIOD_S = 0.002

    def __init__(self) -> None:
        self.worst_ms = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stall-probe", daemon=True)

    def __enter__(self) -> StallProbe:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            t0 = time.monotonic()
            if self._stop.wait(self.PERIOD_S):
                return
            late_ms = (time.monotonic() - t0 - self.PERIOD_S) * 1000
            self.worst_ms = max(self.worst_ms, late_ms)


class HeardSplit(AssertionError):
    """More messages heard than played: a silence inside one (a device dropout)."""


MEND_MS = 100.0
"""A hole shorter than this inside one tone is a dropout within its message
(the next message of the same tone comes two messages, 600 ms, later)."""


async def measure_gaps(
    stack: Stack,
    rec: Recorder,
    count: int,
    *,
    seconds: float = 0.3,
    tag: str = "",
    holes: list[float] | None = None,
) -> tuple[list[float], int]:
    """Silence between consecutive messages at the sink (ms), and overlap windows.

    All messages go in at once: the player must have each next one ready
    (prefetched) by the time the current ends. A dropout inside a message (a
    machine holding the device back) is mended, its length (ms) appended to
    ``holes``: the gaps between messages are measured here, dropouts by
    test_jitter_pulse and the dropouts bench.
    """
    await asyncio.sleep(0.4)  # silence before: the window may start a little early
    t0 = time.monotonic() - 0.2  # recording alignment is good to a few ms, not better
    mids = [f"gap{i}{tag}" for i in range(count)]
    for i, mid in enumerate(mids):
        stack.say(mid, _tone_text(FREQS_HZ[i % 3], seconds), who=f"v{i}")
    for mid in mids:
        await stack.wait(logs.TTS_FINISHED, mid, timeout_s=30)
    t1 = time.monotonic() + 0.2
    await asyncio.to_thread(rec.wait_covered, t1)
    samples = rec.samples()[rec.time_frame(t0) : rec.time_frame(t1)]
    envs = [band_envelope(samples, RECORD_RATE, f) for f in FREQS_HZ]
    level = TONE_AMPLITUDE / 2
    spans: list[tuple[float, float]] = []
    for env in envs:
        spans += _mend(_spans(*edges(env, level)), holes)
    spans.sort()
    if len(spans) != count:
        ms = [(round(a * 1000 / RECORD_RATE), round(b * 1000 / RECORD_RATE)) for a, b in spans]
        raw = [
            [np.round(np.array(e) * 1000 / RECORD_RATE).tolist() for e in edges(env, level)]
            for env in envs
        ]
        error = HeardSplit if len(spans) > count else AssertionError
        raise error(f"heard {len(spans)} messages, sent {count}: {ms}; edges {raw}")
    gaps = [(b[0] - a[1]) * 1000 / RECORD_RATE for a, b in itertools.pairwise(spans)]
    overlap = overlap_windows(envs, [TONE_AMPLITUDE] * 3, RECORD_RATE)
    return gaps, overlap


def _mend(spans: list[tuple[float, float]], holes: list[float] | None) -> list[tuple[float, float]]:
    """One tone's spans, those parted by less than MEND_MS made one again."""
    out: list[tuple[float, float]] = []
    for a, b in spans:
        hole_ms = (a - out[-1][1]) * 1000 / RECORD_RATE if out else float("inf")
        if hole_ms < MEND_MS:
            out[-1] = (out[-1][0], b)
            if holes is not None:
                holes.append(round(hole_ms, 1))
        else:
            out.append((a, b))
    return out


def _spans(ups: np.ndarray, downs: np.ndarray) -> list[tuple[float, float]]:
    """Pair each rising edge with the next falling one (a level already high
    at the window's start, or a filter tail, gives a lone edge: ignored)."""
    out = []
    for up in ups:
        later = downs[downs > up]
        if later.size and not (out and up < out[-1][1]):
            out.append((float(up), float(later[0])))
    return out


async def measure_first_audio(stack: Stack, rec: Recorder, texts: list[str]) -> list[float]:
    """Event in -> first sound at the sink, minus the engine's own first-chunk time (ms)."""
    out = []
    for i, text in enumerate(texts):
        mid = f"fa{i}"
        t_in = stack.say(mid, text, who=f"u{i}")
        started = await stack.wait(logs.TTS_STARTED, mid, timeout_s=30)
        await stack.wait(logs.TTS_FINISHED, mid, timeout_s=60)
        await asyncio.to_thread(rec.wait_covered, time.monotonic())
        samples = rec.samples()
        lo = rec.time_frame(t_in)
        loud = np.flatnonzero(np.abs(samples[lo:].astype(np.int32)) > 300)
        if loud.size == 0:
            raise AssertionError(f"message {mid} was never heard")
        heard = rec.heard_time(lo + int(loud[0]))
        out.append((heard - t_in) * 1000 - float(started.get("first_audio_ms") or 0.0))
        await asyncio.sleep(0.2)
    return out


async def measure_dropouts(
    stack: Stack, rec: Recorder, count: int, *, text: str, tag: str = "m"
) -> tuple[int, list[tuple[int, int]], list[float]]:
    """Play ``count`` messages in turn: (messages heard, silences inside, first-audio ms)."""
    await asyncio.sleep(0.5)  # a separating silence before the first message
    t0 = time.monotonic() - 0.2
    first_ms = []
    for i in range(count):
        mid = f"{tag}{i}"
        t_in = stack.say(mid, text, who=f"u{i}")
        await stack.wait(logs.TTS_FINISHED, mid, timeout_s=30)
        await asyncio.to_thread(rec.wait_covered, time.monotonic())
        samples = rec.samples()
        lo = rec.time_frame(t_in)
        loud = np.flatnonzero(np.abs(samples[lo:].astype(np.int32)) >= QUIET)
        if loud.size == 0:
            raise AssertionError(f"message {mid} was never heard")
        first_ms.append((rec.heard_time(lo + int(loud[0])) - t_in) * 1000)
        await asyncio.sleep(0.1)
    t1 = time.monotonic() + 0.2
    await asyncio.to_thread(rec.wait_covered, t1)
    window = rec.samples()[rec.time_frame(t0) : rec.time_frame(t1)]
    messages, silences = inner_silences(
        window, RECORD_RATE, quiet=QUIET, between_ms=stack.gap_ms / 2, min_ms=0.5
    )
    return len(messages), silences, first_ms


SERVE_FAKE = """
import asyncio, sys
from tests.fakes.cartesia_server import FakeCartesiaServer

async def report(server, path):
    told = 0
    while True:
        await asyncio.sleep(0.02)
        if len(server.overshoots) > told:
            with open(path, "a") as f:
                f.writelines(f"{s}\\n" for s in server.overshoots[told:])
            told = len(server.overshoots)

async def main(chunk_ms, first_s, lateness_s, seed, path):
    async with FakeCartesiaServer() as server:
        server.realtime = True
        server.chunk_ms = chunk_ms
        server.slow_first_chunk_s = first_s
        server.max_lateness_s = lateness_s
        server.rng.seed(seed)
        reporter = asyncio.create_task(report(server, path))
        print(server.port, server.api_key, next(iter(server.voices)), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        reporter.cancel()

asyncio.run(main(int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))
"""


@dataclass(frozen=True)
class FakeCartesiaProcess:
    """Where the fake Cartesia server of :func:`fake_cartesia_process` listens."""

    port: int
    api_key: str
    voice: str
    report: Path
    """One line per paced message: the most (s) a chunk went out after its due
    time, the machine's own lateness beyond the one asked for."""

    def overshoots_ms(self) -> list[float]:
        """Per message paced so far (written within ~20 ms of its end)."""
        lines = self.report.read_text().split() if self.report.exists() else []
        return [float(s) * 1000 for s in lines]


def _favoured() -> None:
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, NICE_FALLBACK)


@contextlib.contextmanager
def fake_cartesia_process(
    *, chunk_ms: int, first_chunk_s: float, max_lateness_s: float = 0.0, seed: int = 0
) -> Iterator[FakeCartesiaProcess]:
    """The fake Cartesia server paced at real time, in a process of its own like
    a remote service: neither the daemon's event loop nor its GIL can delay
    what the server sends. It runs at the daemon's favoured nice value (when
    allowed), so other programs on the machine delay its chunks no more than
    the lateness it was asked for."""
    report = Path(tempfile.mkdtemp(prefix="tts-fake-")) / "overshoots"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVE_FAKE,
            *map(str, (chunk_ms, first_chunk_s, max_lateness_s, seed, report)),
        ],
        cwd=Path(__file__).resolve().parents[2],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=_favoured,
    )
    try:
        assert proc.stdout is not None
        port, key, voice = proc.stdout.readline().split()
        yield FakeCartesiaProcess(int(port), key, voice, report)
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(report.parent, ignore_errors=True)
