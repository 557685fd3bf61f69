"""What the machine itself did while a sound benchmark ran: CPU steal, freezes.

On a virtual machine the hypervisor may hold the guest's virtual CPUs back,
for other guests' work ("steal", counted in /proc/stat) or by waking an idle
one late (counted nowhere). Every thread of the guest waits then, real-time
ones too; a wait longer than the device buffer is a silence that no player
inside the guest can prevent. A real-time process of its own on each CPU,
waking every 25 ms, measures those waits apart from anything the daemon
does (one CPU may be held while the other runs on).

`MachineHold` makes such freezes on purpose, the same on every run: what a
player does about them can then be compared without waiting for the
hypervisor's bad minutes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import Final

PROBE: Final = """
import os, sys, time
try:
    os.sched_setaffinity(0, {int(sys.argv[3])})
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
PERIOD_S: Final = 0.025
"""Wakes 40 times a second on each CPU, few beside the ~230 of the sound path
itself (device callback, sound server client), so the probes hardly keep a
CPU from idling (a virtual CPU woken from idle may come late: the probes
must not hide that). A freeze longer than this always meets a wake-up; one
of 17 ms, two times in three."""
PRIORITY: Final = 10
"""The device callback thread's (SCHED_FIFO 10): the probe never preempts it."""


HOLDER: Final = """
import os, sys, time
try:
    os.sched_setaffinity(0, {int(sys.argv[3])})
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(99))
    print("fifo", flush=True)
except (OSError, AttributeError):
    print("normal", flush=True)
hold, period, start = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[4])
n = 1
while True:
    time.sleep(max(0.0, start + n * period - time.monotonic()))
    end = time.monotonic() + hold
    while time.monotonic() < end:
        pass
    n += 1
"""


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


def _cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (OSError, AttributeError):
        return [0]


class FreezeProbe:
    """Waits of a real-time process on each CPU beside the benchmark, in ms
    (those of 5 ms or more, all CPUs together)."""

    def __init__(self) -> None:
        self.waits_ms: list[float] = []
        self._procs: list[subprocess.Popen[str]] = []
        self._readers: list[threading.Thread] = []

    def __enter__(self) -> FreezeProbe:
        for cpu in _cpus():
            proc = subprocess.Popen(
                [sys.executable, "-c", PROBE, str(PRIORITY), str(PERIOD_S), str(cpu)],
                stdout=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
            )
            reader = threading.Thread(target=self._read, args=(proc,), daemon=True)
            reader.start()
            self._procs.append(proc)
            self._readers.append(reader)
        return self

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.waits_ms.append(float(line))

    def __exit__(self, *_exc: object) -> None:
        for proc in self._procs:
            proc.kill()
            proc.wait()
        for reader in self._readers:
            reader.join(timeout=5)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs]

    def over(self, ms: float) -> int:
        return sum(w > ms for w in self.waits_ms)

    @property
    def worst_ms(self) -> float:
        return max(self.waits_ms, default=0.0)


class MachineHold:
    """Every CPU held at once for ``hold_ms`` every ``period_s``: a freeze of the
    whole machine, as a hypervisor makes one, on purpose.

    One SCHED_FIFO 99 spinner per CPU, pinned, all starting their holds at
    the same monotonic instants: nothing else runs there meanwhile (the sound
    server, the device callback and the probes neither). Linux's real-time
    throttling still leaves 5% of each second to the rest. :attr:`realtime`
    is False when real-time scheduling was refused: the holds then only
    compete, and prove nothing.
    """

    def __init__(self, hold_ms: float, period_s: float) -> None:
        if not 0 < hold_ms < period_s * 1000 / 2:
            raise ValueError("hold_ms must be above 0 and under half the period")
        self.hold_ms = hold_ms
        self.period_s = period_s
        self.realtime = False
        self._procs: list[subprocess.Popen[str]] = []

    def __enter__(self) -> MachineHold:
        start = time.monotonic() + 0.2
        for cpu in _cpus():
            proc = subprocess.Popen(
                [
                    sys.executable, "-c", HOLDER,
                    str(self.hold_ms / 1000), str(self.period_s), str(cpu), str(start),
                ],
                stdout=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
            )  # fmt: skip
            self._procs.append(proc)
        answers = [p.stdout.readline().strip() if p.stdout else "" for p in self._procs]
        self.realtime = all(a == "fifo" for a in answers)
        return self

    def __exit__(self, *_exc: object) -> None:
        for proc in self._procs:
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
