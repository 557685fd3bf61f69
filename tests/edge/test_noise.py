"""PortAudio's C-level chatter is filtered; everything else still reaches stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import os, sys, time
from streamer_tts.audio.noise import filter_native_stderr
filter_native_stderr()
filter_native_stderr()  # idempotent
os.write(2, b"ALSA lib pcm.c:8570:(snd_pcm_recover) underrun occurred\\n")
os.write(2, b"Expression 'alsa_snd_pcm_hw_params' failed in 'src/hostapi/alsa/pa_linux_alsa.c'\\n")
os.write(2, b"Cannot connect to server socket err = No such file or directory\\n")
os.write(2, b"config error: audio.gap_ms: -5 is invalid\\n")
print("a python line", file=sys.stderr, flush=True)
time.sleep(0.2)
"""


def test_noise_dropped_real_lines_kept() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0
    assert done.stderr.splitlines() == [
        "config error: audio.gap_ms: -5 is invalid",
        "a python line",
    ]


EXITING = """
import sys
from streamer_tts.audio.noise import filter_native_stderr
filter_native_stderr()
print("error: state dir is not a directory", file=sys.stderr)
sys.exit(2)
"""


def test_the_last_line_before_exit_is_not_lost() -> None:
    """An exit-2 error printed just before exit still reaches the streamer."""
    for _ in range(5):
        done = subprocess.run(
            [sys.executable, "-c", EXITING], cwd=ROOT, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 2
        assert done.stderr.splitlines() == ["error: state dir is not a directory"]
