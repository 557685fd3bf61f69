"""The sound device lost and back: a real PulseAudio server killed and started again.

The player's output must notice the loss within 2 s (``audio.lost``), reopen
the device once the server is back (``audio.restored``), read the paid
message the loss cut again from its start, and play a message submitted
afterwards, heard at the new server's sink. A private server of its
own: killing the session's shared one would break every other sound test.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streamer_tts import logs, systemd
from streamer_tts.audio.device_output import PyAudioOutput
from streamer_tts.audio.feed import Feed
from streamer_tts.audio.outputs import OutputError
from streamer_tts.audio.pcm import PcmFormat
from tests.edge.pulse import PulseServer, Recorder, client_env, private_pulse, pulse_available
from tests.edge.sound_analysis import band_envelope
from tests.edge.stack import RECORD_RATE, Stack
from tests.fakes.tone_engine import ToneEngine

pytestmark = pytest.mark.sound

AFTER_HZ = 2900.0
AFTER_S = 0.6


async def wait_event(stack: Stack, name: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for record in stack.events:
            if record["event"] == name:
                return record
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {name} within {timeout_s} s; events: {stack.events}")


async def until_steady(output: Any, *, seconds: float, timeout_s: float) -> None:
    """Wait until the output has been healthy for ``seconds`` in a row."""
    deadline = time.monotonic() + timeout_s
    since = None
    while time.monotonic() < deadline:
        if not output.healthy:
            since = None
        elif since is None:
            since = time.monotonic()
        elif time.monotonic() - since >= seconds:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the output was not restored within {timeout_s} s")


def restart_and_record(server: PulseServer) -> Recorder:
    """Start the killed server again, recording its sink at once.

    A null sink nobody records plays in fits and starts (PortAudio's stream
    stalls for seconds), so the recorder must be there before the output
    reopens, as it is for every other sound test.
    """
    server.start_again()
    rec = Recorder(server)
    rec.start()
    rec.wait_ready()
    return rec


@pytest.mark.skipif(not pulse_available(), reason="pulseaudio is not installed")
async def test_output_is_restored_after_the_sound_server_restarts() -> None:
    with private_pulse() as server, client_env(server), Recorder(server) as first:
        await asyncio.to_thread(first.wait_ready)
        async with Stack(ToneEngine(), gap_ms=100) as stack:
            output = stack.player.output
            changes: list[tuple[bool, float]] = []
            output.on_health(lambda lost: changes.append((lost, time.monotonic())))
            stack.cheer("cut", "tone 500 4")  # paid: read again, whole, once audio is back
            await stack.wait(logs.TTS_STARTED, "cut")
            await asyncio.sleep(0.5)
            killed_at = time.monotonic()
            server.kill()
            lost = await wait_event(stack, logs.AUDIO_LOST, timeout_s=5)
            assert changes and changes[0][0] is True
            assert changes[0][1] - killed_at < 2.0, "the loss was noticed too late"
            assert lost["error"] and not output.healthy and output.lost_for_s() > 0
            stack.say("waiting", "tone 1700 0.3")  # accepted while lost: waits
            await asyncio.sleep(0.5)
            rec = await asyncio.to_thread(restart_and_record, server)
            try:
                await until_steady(output, seconds=1.5, timeout_s=20)
                assert output.lost_for_s() == 0
                assert logs.AUDIO_RESTORED in [e["event"] for e in stack.events]
                t0 = time.monotonic()
                stack.say("after", f"tone {AFTER_HZ:g} {AFTER_S:g}")
                try:
                    await stack.wait(logs.TTS_FINISHED, "after", timeout_s=20)
                except TimeoutError:
                    raise AssertionError(
                        [
                            (
                                e["event"],
                                e.get("id"),
                                e.get("reason") or e.get("by") or e.get("error"),
                            )
                            for e in stack.events
                        ]
                    ) from None
                t1 = time.monotonic() + 0.3
                await asyncio.to_thread(rec.wait_covered, t1)
                heard = rec.samples()[rec.time_frame(t0 - 0.2) : rec.time_frame(t1)]
            finally:
                rec.stop()
    print(
        "\nhealth changes after the kill (s):",
        [(lost, round(t - killed_at, 2)) for lost, t in changes],
    )
    assert [lost for lost, _ in changes][:2] == [True, False]
    assert stack.ids(logs.TTS_FINISHED)[-3:] == ["cut", "waiting", "after"]
    interrupted = [e for e in stack.events if e["event"] == logs.TTS_INTERRUPTED]
    assert [(e["id"], e["by"]) for e in interrupted] == [("cut", "audio_lost")]
    assert stack.ids(logs.TTS_STARTED).count("cut") == 2  # from its start again
    envelope = band_envelope(heard, RECORD_RATE, AFTER_HZ)
    heard_s = float((envelope > 0.25 * 32767).sum()) / RECORD_RATE
    peak = int(abs(heard.astype(int)).max()) if heard.size else 0
    assert abs(heard_s - AFTER_S) < 0.1, f"heard {heard_s:.2f} s after restart (peak {peak})"


@pytest.mark.skipif(not pulse_available(), reason="pulseaudio is not installed")
async def test_a_device_missing_at_start_is_waited_for() -> None:
    """No sound server at boot: the output starts lost (`audio.lost`), and plays
    once the server is up (`audio.restored`); without waiting it is an error."""
    events: list[dict[str, Any]] = []
    remove = logs.add_listener(events.append)
    with private_pulse() as server, client_env(server):
        server.kill()
        with pytest.raises(OutputError):
            PyAudioOutput(Feed(PcmFormat(48000), gap_ms=0)).start()
        output = PyAudioOutput(Feed(PcmFormat(48000), gap_ms=0), wait_for_device=True)
        try:
            output.start()  # no raise: the daemon keeps serving meanwhile
            await asyncio.sleep(0.1)
            assert not output.healthy
            rec = await asyncio.to_thread(restart_and_record, server)
            try:
                await until_steady(output, seconds=1.0, timeout_s=20)
            finally:
                rec.stop()
        finally:
            output.close()
            remove()
    names = [e["event"] for e in events]
    assert names[:2] == [logs.AUDIO_LOST, logs.AUDIO_RESTORED], names


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def received(sock: socket.socket) -> list[bytes]:
    out = []
    while True:
        try:
            out.append(sock.recv(256))
        except BlockingIOError:
            return out


async def test_watchdog_pings_only_while_healthy(notify_socket: socket.socket) -> None:
    healthy = True
    task = asyncio.create_task(systemd.watchdog_loop(0.04, lambda: healthy))
    await asyncio.sleep(0.2)
    assert received(notify_socket).count(b"WATCHDOG=1") >= 3
    healthy = False  # lost beyond restore_timeout_seconds: systemd should restart us
    await asyncio.sleep(0.05)
    received(notify_socket)
    await asyncio.sleep(0.2)
    assert received(notify_socket) == []
    healthy = True
    await asyncio.sleep(0.2)
    assert b"WATCHDOG=1" in received(notify_socket)
    task.cancel()
