"""Keep PortAudio's ALSA/JACK chatter off the streamer's terminal.

PortAudio and the ALSA libraries write straight to file descriptor 2 from C
("ALSA lib pcm.c: underrun occurred", JACK probing), which no Python logging
setting reaches. Those lines are harmless noise on a machine without JACK
or with a sound server, and users read them as errors. Here fd 2 becomes a
pipe; a thread copies every line to the real stderr except the known noise.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

__all__ = ["NOISE", "filter_native_stderr"]

NOISE = re.compile(
    rb"^(ALSA lib |Expression '|Cannot connect to server|jack server|JackShmReadWritePtr"
    rb"|Jack: |connect\(2\) call to /dev/shm/jack)"
)
_installed = False
DRAIN_TIMEOUT_S = 2.0
"""Most the exit waits for the filter to pass on the last lines."""


def filter_native_stderr() -> None:
    """Install the filter once per process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    sys.stderr.flush()
    real = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def pump() -> None:
        with os.fdopen(read_end, "rb", buffering=0) as src:
            pending = b""
            while chunk := src.read(4096):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if not NOISE.match(line):
                        os.write(real, line + b"\n")
            if pending and not NOISE.match(pending):
                os.write(real, pending)

    thread = threading.Thread(target=pump, name="stderr-filter", daemon=True)
    thread.start()

    def drain() -> None:
        # The last lines (an exit-2 error, a traceback) are still in the pipe at
        # exit: give fd 2 back, so the pump sees the end and writes them out.
        sys.stderr.flush()
        os.dup2(real, 2)
        thread.join(DRAIN_TIMEOUT_S)

    atexit.register(drain)
