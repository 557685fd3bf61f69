"""The player and conductor end to end, into a real-time WAV recording.

A tone engine gives each message its own frequency, so the recording shows
which message sounded when: order, gaps, overlap, skip, pause, interrupt,
truncation and fallback are all read from what was "heard".
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import wave
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streamer_tts import logs
from streamer_tts.audio.heap import CHECK_S, EVERY_S, IDLE_S, NO_AUTOMATIC_FULL
from streamer_tts.audio.player import Player
from streamer_tts.conductor import Conductor
from streamer_tts.core.admission import Admission
from streamer_tts.core.decisions import Priority
from streamer_tts.core.events import ChatTTS, Cheer, Clear, Pause, Resume, Role, Skip, User
from streamer_tts.core.limits import LimitPolicy
from streamer_tts.core.rules import Rules
from streamer_tts.core.tiers import Tier, TierTable
from streamer_tts.limiter import aiolimiter_gate
from tests.edge.sound_analysis import audible_regions, band_envelope, overlap_windows
from tests.fakes.tone_engine import ToneEngine

RATE = 22050
MOD = User("mod", "Mod", frozenset({Role.MODERATOR}))
OPEN_LIMITS = LimitPolicy(per_user=None, global_=None, max_pending_per_user=None)


class Rig:
    def __init__(self, path: Path, engines: list[Any], rules: Rules, **player: Any) -> None:
        self.path = path
        self.events: list[dict[str, Any]] = []
        self.player = Player(
            engines=engines,
            output=f"file:{path}",
            notify=lambda e: None,
            sample_rate=RATE,
            **player,
        )
        self.admission = Admission(rules, aiolimiter_gate)
        self.conductor = Conductor(self.admission, self.player)

    def names(self, event: str) -> list[str]:
        return [e["id"] for e in self.events if e["event"] == event]

    def samples(self) -> np.ndarray:
        with wave.open(str(self.path)) as w:
            assert w.getframerate() == RATE and w.getnchannels() == 1
            return np.frombuffer(w.readframes(w.getnframes()), "<i2")

    async def settle(self, timeout_s: float = 15.0) -> None:
        await asyncio.sleep(0.05)
        await asyncio.wait_for(self.conductor.drained(), timeout_s)
        await asyncio.sleep(0.1)


@pytest.fixture
async def rig(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    opts = getattr(request, "param", {})
    engines = opts.get("engines") or [ToneEngine()]
    rules = opts.get("rules") or replace(Rules(), limits=OPEN_LIMITS)
    r = Rig(tmp_path / "out.wav", engines, rules, **opts.get("player", {"gap_ms": 100}))
    remove = logs.add_listener(r.events.append)
    await r.player.start()
    task = asyncio.create_task(r.conductor.run())
    yield r
    task.cancel()
    await r.player.close()
    remove()


def chat(id: str, freq: int, seconds: float, who: str = "viewer") -> ChatTTS:
    return ChatTTS(id=id, user=User(who), message=f"tone {freq} {seconds}")


def cheer(id: str, bits: int, freq: int, seconds: float) -> Cheer:
    return Cheer(id=id, user=User(f"fan{id}"), amount_bits=bits, message=f"tone {freq} {seconds}")


def tone_regions(samples: np.ndarray, freq: int) -> list[tuple[int, int]]:
    env = band_envelope(samples, RATE, freq, sigma_hz=40)
    level = 0.5 * 0.5 * 32767  # half of the tone's amplitude
    loud = env >= level
    change = np.flatnonzero(np.diff(loud.astype(np.int8)))
    bounds = [0, *list(change + 1), len(loud)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if loud[a] and b - a > 100]


async def test_priority_order_gap_and_no_overlap(rig: Rig) -> None:
    rig.conductor.submit(Pause(by=MOD))  # hold the choice until all have arrived
    rig.conductor.submit(chat("low", 300, 0.4))
    rig.conductor.submit(cheer("mid", 500, 700, 0.4))
    rig.conductor.submit(cheer("top", 1000, 1100, 0.4))
    rig.conductor.submit(cheer("small", 100, 500, 0.4))
    await asyncio.sleep(0.1)
    assert rig.names(logs.TTS_STARTED) == []
    rig.conductor.submit(Resume(by=MOD))
    await rig.settle()
    assert rig.names(logs.TTS_STARTED) == ["top", "mid", "small", "low"]
    assert rig.names(logs.TTS_FINISHED) == ["top", "mid", "small", "low"]
    samples = rig.samples()
    regions = audible_regions(samples, RATE)
    assert len(regions) == 4
    gaps_ms = [(b[0] - a[1]) * 1000 / RATE for a, b in itertools.pairwise(regions)]
    assert all(abs(g - 100) <= 20 for g in gaps_ms), gaps_ms
    envs = [band_envelope(samples, RATE, f, sigma_hz=40) for f in (300, 700, 1100, 500)]
    assert overlap_windows(envs, [0.5 * 32767 * 0.5] * 4, RATE) == 0


@pytest.mark.parametrize("rig", [{"engines": [ToneEngine(chunk_delay_s=0.04)]}], indirect=True)
async def test_skip_is_silent_within_50_ms(rig: Rig) -> None:
    rig.conductor.submit(chat("long", 440, 3.0))
    await asyncio.sleep(0.6)
    frame_at_skip = rig.player.feed.frames_pulled
    rig.conductor.submit(Skip(by=MOD))
    await rig.settle()
    assert rig.names(logs.TTS_SKIPPED) == ["long"]
    assert rig.names(logs.TTS_FINISHED) == []
    regions = audible_regions(rig.samples(), RATE)
    assert len(regions) == 1
    silent_after_ms = (regions[0][1] - frame_at_skip) * 1000 / RATE
    assert silent_after_ms <= 50, silent_after_ms
    assert rig.player.engines[0].cancels >= 1  # synthesis in flight was cancelled too


@pytest.mark.parametrize(
    "rig", [{"player": {"gap_ms": 0, "max_message_seconds": 0.5}}], indirect=True
)
async def test_max_message_seconds_cuts_with_a_fade(rig: Rig) -> None:
    rig.conductor.submit(chat("chatty", 440, 2.0))
    await rig.settle()
    finished = [e for e in rig.events if e["event"] == logs.TTS_FINISHED]
    assert finished and finished[0].get("truncated") is True
    samples = rig.samples()
    ((start, end),) = audible_regions(samples, RATE)
    assert abs((end - start) / RATE - 0.5) < 0.02
    tail = np.abs(samples[end - 20 : end + 5].astype(int))
    assert tail[-1] < 400  # faded, not chopped at full level


async def test_pause_holds_position_and_resume_continues(rig: Rig) -> None:
    rig.conductor.submit(chat("p", 440, 1.0))
    await asyncio.sleep(0.4)
    rig.conductor.submit(Pause(by=MOD))
    await asyncio.sleep(0.5)
    rig.conductor.submit(Resume(by=MOD))
    await rig.settle()
    regions = audible_regions(rig.samples(), RATE)
    assert len(regions) == 2
    heard = sum(b - a for a, b in regions) / RATE
    assert abs(heard - 1.0) < 0.05  # nothing lost, nothing repeated
    assert (regions[1][0] - regions[0][1]) / RATE > 0.4


async def test_clear_drops_pending_free_but_keeps_paid(rig: Rig) -> None:
    rig.conductor.submit(chat("now", 440, 0.6, who="a"))
    await asyncio.sleep(0.1)
    rig.conductor.submit(chat("free", 500, 0.3, who="b"))
    rig.conductor.submit(cheer("paid", 100, 600, 0.3))
    await asyncio.sleep(0.05)
    rig.conductor.submit(Clear(by=MOD))
    await rig.settle()
    assert rig.names(logs.TTS_DROPPED) == ["free"]
    assert rig.names(logs.TTS_FINISHED) == ["now", "paid"]


@pytest.mark.parametrize(
    "rig",
    [
        {
            "rules": replace(
                Rules(),
                limits=OPEN_LIMITS,
                tiers=TierTable.of(
                    [Tier(5000, Priority.URGENT, interrupt=True), Tier(100, Priority.NORMAL)]
                ),
            )
        }
    ],
    indirect=True,
)
async def test_interrupt_tier_cuts_and_replays_from_start(rig: Rig) -> None:
    rig.conductor.submit(chat("cut-me", 440, 1.0))
    await asyncio.sleep(0.4)
    rig.conductor.submit(cheer("big", 5000, 900, 0.4))
    await rig.settle()
    assert rig.names(logs.TTS_STARTED) == ["cut-me", "big", "cut-me"]
    assert rig.names(logs.TTS_FINISHED) == ["big", "cut-me"]
    samples = rig.samples()
    first, replay = tone_regions(samples, 440)
    assert (first[1] - first[0]) / RATE < 0.7
    assert abs((replay[1] - replay[0]) / RATE - 1.0) < 0.05  # replayed whole


def _failing_primary() -> ToneEngine:
    engine = ToneEngine(name="primary")
    engine.fail_texts.add("viewer says: tone 440 0.5")
    return engine


@pytest.mark.parametrize(
    "rig", [{"engines": [_failing_primary(), ToneEngine(name="fallback")]}], indirect=True
)
async def test_failed_engine_falls_back_and_nothing_is_lost(rig: Rig) -> None:
    rig.conductor.submit(chat("m1", 440, 0.5))
    await rig.settle()
    kinds = [(e["event"], e.get("engine")) for e in rig.events if e.get("id") == "m1"]
    assert (logs.TTS_FAILED, "primary") in kinds
    assert kinds.index((logs.TTS_FAILED, "primary")) < kinds.index((logs.TTS_STARTED, "fallback"))
    assert rig.names(logs.TTS_FINISHED) == ["m1"]
    ((start, end),) = audible_regions(rig.samples(), RATE)
    assert abs((end - start) / RATE - 0.5) < 0.03


async def test_started_carries_time_to_first_audio(rig: Rig) -> None:
    rig.conductor.submit(chat("t", 440, 0.2))
    await rig.settle()
    started = next(e for e in rig.events if e["event"] == logs.TTS_STARTED)
    assert started["engine"] == "tone" and started["first_audio_ms"] >= 0


@pytest.mark.parametrize("fault", ["error", "drop"])
async def test_cartesia_failure_falls_back_to_the_next_engine(tmp_path: Path, fault: str) -> None:
    """The real SDK against the fake server fails a message: the fallback reads it."""
    from streamer_tts.speech.cartesia import CartesiaEngine
    from tests.fakes.cartesia_server import FakeCartesiaServer

    async with FakeCartesiaServer() as server:
        cartesia = CartesiaEngine(
            api_key=server.api_key,
            model="sonic-3",
            voice=next(iter(server.voices)),
            websocket_url=server.websocket_url,
            base_url=server.base_url,
            sample_rate=RATE,
            first_chunk_timeout_s=2.0,
            chunk_timeout_s=2.0,
        )
        fallback = ToneEngine(name="fallback")
        r = Rig(
            tmp_path / "out.wav",
            [cartesia, fallback],
            replace(Rules(), limits=OPEN_LIMITS),
            gap_ms=50,
        )
        remove = logs.add_listener(r.events.append)
        await r.player.start()
        task = asyncio.create_task(r.conductor.run())
        try:
            r.conductor.submit(cheer("ok", 100, 440, 0.2))  # cartesia reads this one
            await r.settle()
            if fault == "error":
                server.fail_next(1, status_code=500)
            else:
                server.drop_socket_mid_message = True
            r.conductor.submit(cheer("paid", 500, 440, 0.3))
            await r.settle()
        finally:
            task.cancel()
            await r.player.close()
            remove()
    by_id = [(e["event"], e.get("engine")) for e in r.events if e.get("id") == "paid"]
    assert (logs.TTS_FAILED, "cartesia") in by_id, by_id
    assert by_id.index((logs.TTS_FAILED, "cartesia")) < by_id.index((logs.TTS_STARTED, "fallback"))
    assert r.names(logs.TTS_FINISHED) == ["ok", "paid"]
    started = [(e["id"], e["engine"]) for e in r.events if e["event"] == logs.TTS_STARTED]
    assert started[0] == ("ok", "cartesia")
    # a socket dropped mid-message may have let part of it sound first: then the
    # fallback reads it again from the start, in a fresh segment
    assert started[-1] == ("paid", "fallback")


async def test_a_failing_report_consumer_never_breaks_the_player(tmp_path: Path) -> None:
    from streamer_tts.core.decisions import Message
    from streamer_tts.core.events import Source
    from streamer_tts.core.playback import Finished, Low, Started

    got: list[object] = []

    def broken(report: object) -> None:
        got.append(report)
        raise RuntimeError("a bug in the consumer")

    player = Player(
        engines=[ToneEngine()], output=f"file:{tmp_path / 'x.wav'}", notify=broken, sample_rate=RATE
    )
    await player.start()
    try:
        m = Message("m", Source.CHAT, "v", "V", Priority.LOW, "tone 440 0.2", "", False, 1, 0.0)
        player.play(m)
        for _ in range(100):
            if any(isinstance(r, Finished) for r in got):
                break
            await asyncio.sleep(0.02)
    finally:
        await player.close()
    assert [type(r) for r in got] == [Started, Low, Finished]
    assert player.committed == ()


async def test_the_player_takes_full_collections_over_while_it_plays(rig: Rig) -> None:
    """While it owns the device, full collections are the player's (audio/heap.py):
    automatic ones are off, and it runs one itself once idle."""
    heap = rig.player.heap
    assert gc.get_threshold()[2] == NO_AUTOMATIC_FULL
    assert heap.tick() is False  # started just now: not yet due
    heap._last -= EVERY_S  # (as if the interval had passed)
    await asyncio.sleep(IDLE_S + 3 * CHECK_S)  # idle all along
    assert heap.collections == 1, "the player's own task ran it"
    await rig.player.close()
    assert gc.get_threshold()[2] != NO_AUTOMATIC_FULL
