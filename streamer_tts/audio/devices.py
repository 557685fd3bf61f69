"""PortAudio devices: finding the one ``audio.output`` names, and its rate.

Only discovery lives here; the output that plays (and reopens) a device is
:class:`~streamer_tts.audio.outputs.PyAudioOutput`.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterator

if TYPE_CHECKING:
    import pyaudio

__all__ = [
    "DEFAULT_DEVICE",
    "DeviceInfo",
    "OutputError",
    "choose_device",
    "find_output_device",
    "list_output_devices",
    "native_rate",
    "new_pyaudio",
    "output_devices",
]

DEFAULT_DEVICE: Final = "default"
FRAMES_PER_BUFFER: Final = 384
"""Device buffer (``audio.frames_per_buffer``): ~9 ms per callback at 44100 Hz,
~17 ms held by the device. 256 underflows when a busy machine keeps the
callback from the interpreter lock for ~12 ms; 512 rides out more (beside 2
CPU-bound programs: once in 20 messages, against 26 in 60 at 384) but a skip
then takes p95 ~47 ms at the speaker (30 at 384), too close to the 50 ms bar."""


class OutputError(Exception):
    """The output cannot be opened or used (a setup problem, one line for the user)."""


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """One PortAudio output device, as shown by ``bot.py devices``."""

    index: int
    name: str
    channels: int
    default_rate: float
    """Hertz."""
    is_default: bool


# ---- PortAudio -------------------------------------------------------------


@contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Send fd 2 to /dev/null: PortAudio's ALSA/JACK probing prints dozens of
    harmless errors on machines without every backend, which users take for
    real failures. Used around initialisation only."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def new_pyaudio() -> pyaudio.PyAudio:
    """A fresh ``pyaudio.PyAudio`` (imported late: tests and dry runs never need it)."""
    import pyaudio

    with _stderr_silenced():
        return pyaudio.PyAudio()


def output_devices(pa: pyaudio.PyAudio) -> list[DeviceInfo]:
    try:
        default_index = pa.get_default_output_device_info()["index"]
    except OSError:
        default_index = None
    found = []
    for i in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(i)
        channels = int(info["maxOutputChannels"])
        if channels > 0:
            found.append(
                DeviceInfo(
                    index=i,
                    name=str(info["name"]),
                    channels=channels,
                    default_rate=float(info["defaultSampleRate"]),
                    is_default=i == default_index,
                )
            )
    return found


def list_output_devices() -> list[DeviceInfo]:
    """All devices that can play sound, in PortAudio's order."""
    pa = new_pyaudio()
    try:
        return output_devices(pa)
    finally:
        pa.terminate()


def choose_device(devices: list[DeviceInfo], device: str) -> DeviceInfo:
    """Pick ``"default"`` or the device whose name contains ``device``.

    An exact (case-insensitive) name wins over substrings, then the first
    substring match in PortAudio's order.
    """
    if device.strip().lower() == DEFAULT_DEVICE:
        for info in devices:
            if info.is_default:
                return info
    wanted = device.strip().lower()
    exact = [d for d in devices if d.name.lower() == wanted]
    partial = [d for d in devices if wanted in d.name.lower()]
    if exact or partial:
        return (exact or partial)[0]
    names = ", ".join(repr(d.name) for d in devices) or "none"
    raise OutputError(f"no output device matches {device!r}; output devices: {names}")


def find_output_device(device: str = DEFAULT_DEVICE) -> DeviceInfo:
    """Resolve a device spec without opening it (for ``check-config``)."""
    return choose_device(list_output_devices(), device)


def native_rate(spec: str, *, fallback_hz: int) -> int:
    """Sample rate to run the feed at for output ``spec``.

    A device fed at its own rate skips the sound server's resampler, which
    also lets PortAudio run stably with half the buffering: on PulseAudio,
    256-frame buffers at 44100 Hz give ~12 ms of output latency versus ~23 ms
    at 22050 Hz (below 256 frames at 22050 Hz the stream underflows). Engines'
    audio is resampled to this rate with :class:`~streamer_tts.audio.pcm.Resampler`.
    Files and ``none`` have no native rate: ``fallback_hz``.
    """
    text = spec.strip().lower()
    if text == "none" or text.startswith("file:"):
        return fallback_hz
    return round(find_output_device(spec.strip()).default_rate)
