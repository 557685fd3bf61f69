"""Outputs: the device side of the sound path, and the factory that picks one.

Every output *pulls* from a :class:`~streamer_tts.audio.feed.Feed` in real time
and never decides anything: cutting, pausing and gaps all happen inside
``feed.pull``. That is what makes a skip land on the next device buffer.

- :class:`PyAudioOutput`: a PortAudio *callback* stream with small buffers. It
  is the device's sole owner: when the device stops pulling (unplugged, sound
  server restarted, stream aborted) it notices within :data:`STALL_S` plus one
  check, logs ``audio.lost``, reopens it with capped backoff, logs
  ``audio.restored`` and pulls from the same feed again.
- :class:`PulseOutput`: a PulseAudio/PipeWire stream, pulled like the device
  and written up to ~150 ms ahead with what the feed will return, so a machine
  that holds the player back for longer than a device buffer is not heard
  (:mod:`.pulse_output`). ``default`` when a sound server is there.
- :class:`WavFileOutput`: a thread pacing itself on ``time.monotonic()`` and
  writing what a listener would have heard, silence included, to a WAV file.
- :class:`NullOutput`: the same pacing, audio discarded (dry runs).

Every output reports its health (:attr:`healthy`, :meth:`lost_for_s`,
:meth:`on_health`) so the daemon can tell systemd when it is stuck in silence.
Each output is owned by one task (the player); ``close()`` is idempotent.
The outputs live in :mod:`.device_output`, :mod:`.paced` and :mod:`.health`;
their names stay importable from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from streamer_tts.audio.device_output import PyAudioOutput
from streamer_tts.audio.devices import (
    DEFAULT_DEVICE,
    FRAMES_PER_BUFFER,
    DeviceInfo,
    OutputError,
    find_output_device,
    list_output_devices,
    native_rate,
)
from streamer_tts.audio.health import Output
from streamer_tts.audio.libpulse import server_configured
from streamer_tts.audio.paced import NullOutput, WavFileOutput
from streamer_tts.audio.pulse_output import PulseOutput

if TYPE_CHECKING:
    from streamer_tts.audio.feed import Feed

__all__ = [
    "DEFAULT_DEVICE",
    "DeviceInfo",
    "NullOutput",
    "Output",
    "OutputError",
    "PulseOutput",
    "PyAudioOutput",
    "WavFileOutput",
    "find_output_device",
    "list_output_devices",
    "native_rate",
    "open_output",
]


def open_output(
    spec: str,
    feed: Feed,
    *,
    frames_per_buffer: int = FRAMES_PER_BUFFER,
    wait_for_device: bool = False,
) -> Output:
    """Build (not start) the output named by a config spec.

    ``"default"``: the sound server's default sink when a PulseAudio or
    PipeWire server is there (:class:`PulseOutput`, written ahead), else the
    default device; ``"pulse:SINK"``: that sink; a device-name substring: that
    device (PortAudio); ``"none"``: discard; ``"file:PATH.wav"``: record to a
    WAV file.
    """
    text = spec.strip()
    if not text:
        raise OutputError("output spec is empty; use 'default', 'none', 'file:PATH.wav' or a name")
    if text.lower() == "none":
        return NullOutput(feed)
    if text.lower().startswith("file:"):
        path = text[len("file:") :].strip()
        if not path:
            raise OutputError("output 'file:' needs a path, e.g. file:out.wav")
        return WavFileOutput(feed, path)
    lowered = text.lower()
    if (lowered in ("default", "pulse") and server_configured()) or lowered.startswith("pulse:"):
        sink = text.partition(":")[2].strip() or None
        return PulseOutput(
            feed, sink=sink, frames_per_buffer=frames_per_buffer, wait_for_device=wait_for_device
        )
    return PyAudioOutput(
        feed, device=text, frames_per_buffer=frames_per_buffer, wait_for_device=wait_for_device
    )
