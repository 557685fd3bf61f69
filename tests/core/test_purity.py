"""The decision core imports only the stdlib and itself."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = [
    "asyncio",
    "twitchio",
    "pyaudio",
    "cartesia",
    "sqlite3",
    "socket",
    "aiolimiter",
    "pydantic",
    "yaml",
    "numpy",
]


def test_core_loads_no_io_modules() -> None:
    code = (
        "import sys, pkgutil, importlib, streamer_tts.core as c\n"
        "for m in pkgutil.iter_modules(c.__path__):\n"
        "    importlib.import_module('streamer_tts.core.' + m.name)\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
