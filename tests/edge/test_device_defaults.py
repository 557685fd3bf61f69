"""The device's defaults: one value, in config and code alike; the daemon's own priority."""

from __future__ import annotations

import os
import threading

from streamer_tts.audio import realtime
from streamer_tts.audio.devices import FRAMES_PER_BUFFER
from streamer_tts.config.schema import Audio


def test_config_default_device_buffer_is_the_code_default() -> None:
    assert Audio().frames_per_buffer == FRAMES_PER_BUFFER


def test_every_thread_is_favoured_but_never_made_less_favoured() -> None:
    """Threads at an ordinary nice value get the better one; one already better keeps its own."""
    ready, done = threading.Barrier(3, timeout=10), threading.Event()
    tids: dict[str, int] = {}

    def worker(name: str, nice: int) -> None:
        tids[name] = threading.get_native_id()
        if nice:
            try:
                os.setpriority(os.PRIO_PROCESS, 0, nice)
            except OSError:
                tids.pop(name)  # not allowed here (not root): nothing to check for it
        ready.wait()
        done.wait(10)

    threads = [
        threading.Thread(target=worker, args=("ordinary", 5)),
        threading.Thread(target=worker, args=("better", -15)),
    ]
    for t in threads:
        t.start()
    ready.wait()
    before = {name: os.getpriority(os.PRIO_PROCESS, tid) for name, tid in tids.items()}
    try:
        realtime.tune_threads()
        after = {name: os.getpriority(os.PRIO_PROCESS, tid) for name, tid in tids.items()}
    finally:
        done.set()
        for t in threads:
            t.join()
    allowed = os.geteuid() == 0
    if "ordinary" in after:
        assert after["ordinary"] == (realtime.NICE_FALLBACK if allowed else before["ordinary"])
    if "better" in after:
        assert after["better"] == before["better"] == -15
