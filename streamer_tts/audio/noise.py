"""Keep PortAudio's ALSA/JACK chatter off the streamer's terminal.

PortAudio and the ALSA libraries write straight to file descriptor 2 from C
("ALSA lib pcm.c: underrun occurred", JACK probing), which no Python logging
setting reaches. Those lines are harmless noise on a machine without JACK
or with a sound server, and users read them as errors. Here fd 2 becomes a
pipe; a thread copies every line to the real stderr except the known noise.
"""

from __future__ import annotations

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

    threading.Thread(target=pump, name="stderr-filter", daemon=True).start()
