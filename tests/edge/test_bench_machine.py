"""The dropout benchmark's view of the machine: a freeze is seen, steal is a share."""

from __future__ import annotations

import os
import signal
import time

from bench.machine import FreezeProbe, steal_percent


def test_a_stopped_machine_is_seen_as_a_freeze() -> None:
    with FreezeProbe() as probe:
        time.sleep(0.3)  # the probe runs calmly first
        held = probe.pids[-1]  # as a hypervisor holding one CPU
        os.kill(held, signal.SIGSTOP)
        time.sleep(0.15)
        os.kill(held, signal.SIGCONT)
        deadline = time.monotonic() + 5
        while not probe.over(100) and time.monotonic() < deadline:
            time.sleep(0.02)
    assert probe.over(100) >= 1
    assert probe.worst_ms >= 100


def test_steal_is_the_share_of_all_cpu_time() -> None:
    assert steal_percent((10, 1000), (30, 2000)) == 2.0
    assert steal_percent((0, 0), (0, 0)) == 0.0
