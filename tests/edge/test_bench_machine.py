"""The dropout benchmark's view of the machine: a freeze is seen, steal is a share."""

from __future__ import annotations

import os
import signal
import time

import pytest

from bench.machine import FreezeProbe, MachineHold, steal_percent


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


def test_a_held_machine_is_seen_as_freezes_on_every_cpu() -> None:
    with FreezeProbe() as probe:
        time.sleep(0.2)
        with MachineHold(hold_ms=60, period_s=0.3) as hold:
            time.sleep(1.0)  # holds start 0.5 s and 0.8 s after entering: two
        time.sleep(0.1)
    assert hold.realtime, "real-time scheduling refused: the hold cannot preempt anything"
    cpus = len(probe.pids)
    # each hold stops every CPU's probe for about 60 ms (it may wake mid-hold: > 30)
    assert probe.over(30) >= 2 * cpus, probe.waits_ms


def test_a_hold_must_leave_the_machine_most_of_its_time() -> None:
    with pytest.raises(ValueError, match="half the period"):
        MachineHold(hold_ms=200, period_s=0.3)
