"""What the machine itself did while a sound benchmark ran: CPU steal, freezes.

On a virtual machine the hypervisor may hold the guest's virtual CPUs back,
for other guests' work ("steal", counted in /proc/stat) or by waking an idle
one late (counted nowhere). Every thread of the guest waits then, real-time
ones too; a wait longer than the device buffer is a silence that no player
inside the guest can prevent. A real-time process of its own, waking every
10 ms, measures those waits apart from anything the daemon does.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Final

PROBE: Final = """
import os, sys, time
try:
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(int(sys.argv[1])))
except (OSError, AttributeError):
    pass
period = float(sys.argv[2])
last = time.monotonic()
while True:
    time.sleep(period)
    now = time.monotonic()
    late_ms = (now - last - period) * 1000
    if late_ms >= 5:
        print(f"{late_ms:.1f}", flush=True)
    last = now
"""
PERIOD_S: Final = 0.010
"""Wakes 100 times a second: below the device callback's ~115, so the probe
keeps the CPUs from idling no more than the player itself does."""
PRIORITY: Final = 10
"""The device callback thread's (SCHED_FIFO 10): the probe never preempts it."""


def cpu_times() -> tuple[int, int]:
    """(steal, total) CPU time of the machine so far, in clock ticks (0, 0 off Linux)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    # user nice system idle iowait irq softirq steal (guest time is inside user)
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def steal_percent(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[1] - before[1]
    return 100.0 * (after[0] - before[0]) / total if total > 0 else 0.0


class FreezeProbe:
    """Waits of a real-time process beside the benchmark, in ms (those of 5 ms or more)."""

    def __init__(self) -> None:
        self.waits_ms: list[float] = []
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> FreezeProbe:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", PROBE, str(PRIORITY), str(PERIOD_S)],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, name="freeze-probe", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            self.waits_ms.append(float(line))

    def __exit__(self, *_exc: object) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def over(self, ms: float) -> int:
        return sum(w > ms for w in self.waits_ms)

    @property
    def worst_ms(self) -> float:
        return max(self.waits_ms, default=0.0)
