"""Alert sounds: short WAVs played right before a message, in its segment.

`sound: default` names the chime made here (two soft notes: code, not a file in
git). A sound is read and checked at config load (one clear line if it is
missing or not 16-bit PCM); the player resamples and levels it once per output
format and keeps it (`audio.loudness.alert_pcm`): alerts repeat all stream long.
"""

from __future__ import annotations

import functools
import wave
from pathlib import Path

import numpy as np

from ..core.pcm_format import PcmFormat

__all__ = ["DEFAULT", "check", "chime", "load", "read"]

DEFAULT = "default"
"""The name of the bundled chime."""
MAX_SECONDS = 10.0  # an alert, not a song: longer files are refused at load
CHIME_NOTES_HZ = ((880.0, 0.0), (1320.0, 0.15))
"""The chime's two notes (Hz, start s): a rising fifth, A5 then E6."""
CHIME_SECONDS = 0.4
CHIME_PEAK = 0.28
"""Of full scale: a soft chime (levelled to the message loudness anyway)."""


@functools.cache
def chime() -> tuple[PcmFormat, bytes]:
    """The `default` alert: each note starts in 5 ms and dies away (~0.1 s)."""
    rate = 22050
    t = np.arange(round(CHIME_SECONDS * rate)) / rate
    tone = np.zeros_like(t)
    for freq, start in CHIME_NOTES_HZ:
        local = t - start
        on = local >= 0
        envelope = np.minimum(local[on] / 0.005, 1.0) * np.exp(-local[on] / 0.1)
        tone[on] += envelope * np.sin(2 * np.pi * freq * local[on])
    fade = np.minimum((t[-1] - t) / 0.01, 1.0)  # no step at the end
    pcm = tone * fade * (CHIME_PEAK * 32767 / np.abs(tone).max())
    return PcmFormat(rate), pcm.astype("<i2").tobytes()


def load(name: str) -> tuple[PcmFormat, bytes]:
    """`default` is the chime; anything else a WAV path (ValueError if unusable)."""
    if name.strip() == DEFAULT:
        return chime()
    return read(Path(name).expanduser())


def read(path: Path) -> tuple[PcmFormat, bytes]:
    """Mono s16le samples of a 16-bit PCM WAV (stereo is mixed down); ValueError if unusable."""
    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            nframes = w.getnframes()
            if width != 2 or channels not in (1, 2):
                raise ValueError(
                    f"{path}: needs 16-bit PCM, mono or stereo "
                    f"(got {8 * width}-bit, {channels} channels)"
                )
            if nframes > MAX_SECONDS * rate:
                raise ValueError(f"{path}: longer than {MAX_SECONDS:g} s")
            data = w.readframes(nframes)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, EOFError, wave.Error) as e:
        raise ValueError(f"{path}: not a readable WAV ({e})") from None
    if channels == 2:
        s = np.frombuffer(data, dtype="<i2").reshape(-1, 2).astype(np.int32)
        data = ((s[:, 0] + s[:, 1]) // 2).astype("<i2").tobytes()
    return PcmFormat(rate), data


def check(name: str) -> None:
    """The config's check: ValueError with one clear line if the sound is unusable."""
    load(name)
