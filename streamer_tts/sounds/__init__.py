"""Alert sounds: short WAVs played right before a message, in its segment.

`sound: default` names the chime bundled here. A sound is read and checked at
config load (one clear line if it is missing or not 16-bit PCM), then decoded
and resampled once per output format and kept: alerts repeat all stream long.
"""

from __future__ import annotations

import functools
import wave
from pathlib import Path

import numpy as np
import soxr

from ..core.pcm_format import PcmFormat

__all__ = ["DEFAULT_CHIME", "check", "pcm_for", "read", "resolve"]

DEFAULT_CHIME = Path(__file__).with_name("chime.wav")
MAX_SECONDS = 10.0  # an alert, not a song: longer files are refused at load


def resolve(name: str) -> Path:
    """`default` is the bundled chime; anything else a path."""
    return DEFAULT_CHIME if name.strip() == "default" else Path(name).expanduser()


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


def check(name: str) -> str:
    """The config's check: the resolved path, or ValueError with one clear line."""
    path = resolve(name)
    read(path)
    return str(path)


@functools.lru_cache(maxsize=16)
def pcm_for(name: str, fmt: PcmFormat) -> bytes:
    """The sound as `fmt` (mono s16le at its rate); b"" if it became unreadable."""
    try:
        src, data = read(resolve(name))
    except ValueError:
        return b""
    if src.sample_rate != fmt.sample_rate and data:
        samples = np.frombuffer(data, dtype="<i2")
        out = soxr.resample(samples, src.sample_rate, fmt.sample_rate, quality="HQ")
        data = np.clip(out, -32768, 32767).astype("<i2").tobytes()
    if fmt.channels > 1:
        data = np.repeat(np.frombuffer(data, dtype="<i2"), fmt.channels).tobytes()
    return data
