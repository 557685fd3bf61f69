"""Scheduling for the threads that keep the sound device fed.

Shared by both device outputs (the PortAudio callback stream and the sound
server stream): whichever thread hands audio to the device, and the sound
library's own thread behind it, must wake promptly on a busy machine.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Final

__all__ = ["NICE_FALLBACK", "RT_PRIORITY", "SOUND_THREADS", "boost_this_thread", "tune_threads"]

RT_PRIORITY: Final = 10
"""SCHED_FIFO priority asked for the device callback thread (PulseAudio asks rtkit
for 5 to 20 for its clients): with CPU-bound programs beside the daemon, an
ordinary thread wakes too late for ~12 ms of device buffer."""
NICE_FALLBACK: Final = -10
"""Without permission for real-time scheduling, at least a better nice value."""


def boost_this_thread() -> str:
    """Ask for real-time scheduling for the calling thread (the one
    that feeds the device).

    Linux applies both calls to the calling thread only. Refused without
    CAP_SYS_NICE or an RLIMIT_RTPRIO / RLIMIT_NICE allowance (a systemd unit's
    ``LimitRTPRIO=``): then the thread stays as it was, which still works on
    an idle machine.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
        return "fifo"
    except (OSError, AttributeError):
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE_FALLBACK)
        return "nice"
    except (OSError, AttributeError):
        return "normal"


SOUND_THREADS: Final = ("threaded-ml",)
"""Threads of sound libraries in this process that carry our audio: libpulse's
mainloop (PortAudio -> ALSA pulse plugin -> PulseAudio) must wake as promptly
as the callback, or the server's buffer runs dry all the same."""


def tune_threads() -> None:
    """Real-time scheduling for the sound libraries' own threads, nice
    :data:`NICE_FALLBACK` for every other thread of ours (Linux; best effort).

    The callback needs the interpreter lock to run at all. A thread of ours
    holding it while a game or an encoder takes the CPU keeps the callback
    waiting (for 10 to 40 ms on 2 busy cores), longer than the device can
    wait. Threads started later inherit the main thread's nice value.
    """
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return
    for tid in map(int, tids):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            with open(f"/proc/self/task/{tid}/comm") as f:
                sound = f.read().strip() in SOUND_THREADS
            if sound:
                with contextlib.suppress(OSError, AttributeError):
                    os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
                    continue
            if os.getpriority(os.PRIO_PROCESS, tid) > NICE_FALLBACK:
                os.setpriority(os.PRIO_PROCESS, tid, NICE_FALLBACK)
