"""PCM helpers: exact sizes, clipping, ramps that end where they say, seamless resampling."""

from __future__ import annotations

import numpy as np
import pytest

from streamer_tts.audio.pcm import (
    PcmFormat,
    Resampler,
    apply_volume,
    fade,
    ramp_down,
    ramp_up,
    resample,
    silence,
)

FMT = PcmFormat(22050)


def pcm(values: list[int] | np.ndarray) -> bytes:
    return np.asarray(values, dtype="<i2").tobytes()


def values(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2")


def sine(freq_hz: float, frames: int, rate: int) -> bytes:
    t = np.arange(frames) / rate
    return pcm(np.rint(np.sin(2 * np.pi * freq_hz * t) * 10000))


def peak_hz(data: bytes, rate: int) -> float:
    x = values(data).astype(float)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[spectrum.argmax()])


def test_format_arithmetic() -> None:
    assert FMT.bytes_per_frame == 2
    assert PcmFormat(48000, channels=2).bytes_per_frame == 4
    assert FMT.frames(44101) == 22050  # a trailing odd byte is not a frame
    assert FMT.nbytes(10) == 20
    assert FMT.seconds(44100) == 1.0
    assert FMT.frames_for_ms(10) == 220  # 220.5 rounds to even
    with pytest.raises(ValueError):
        PcmFormat(0)


def test_silence_is_zeros_of_exact_length() -> None:
    assert silence(FMT, 5) == bytes(10)
    assert silence(FMT, -3) == b""


def test_volume_scales_and_clips_instead_of_wrapping() -> None:
    assert list(values(apply_volume(pcm([1000, -1000, 0]), 0.5))) == [500, -500, 0]
    assert list(values(apply_volume(pcm([20000, -20000]), 4.0))) == [32767, -32768]
    assert apply_volume(pcm([7]), 1.0) == pcm([7])


def test_ramp_down_ends_at_zero_and_never_rises() -> None:
    out = values(ramp_down(pcm([10000] * 110), FMT))
    assert out[-1] == 0
    assert out[0] > 9800
    assert np.all(np.diff(out) <= 0)


def test_ramp_up_ends_at_full_level() -> None:
    out = values(ramp_up(pcm([10000] * 110), FMT))
    assert out[0] < 200
    assert out[-1] == 10000
    assert np.all(np.diff(out) >= 0)


def test_fade_applied_in_pieces_equals_fade_applied_whole() -> None:
    data = pcm(np.arange(1, 101) * 100)
    whole = fade(data, FMT, 1.0, 0.0)
    first = fade(data[:74], FMT, 1.0, 0.0, offset_frames=0, length_frames=100)
    rest = fade(data[74:], FMT, 1.0, 0.0, offset_frames=37, length_frames=100)
    assert first + rest == whole


def test_fade_keeps_end_gain_past_the_ramp() -> None:
    out = values(fade(pcm([1000] * 10), FMT, 1.0, 0.0, length_frames=4))
    assert list(out[3:]) == [0] * 7


def test_resample_changes_length_not_pitch() -> None:
    src, dst = PcmFormat(22050), PcmFormat(48000)
    out = resample(sine(440, 22050, 22050), src, dst)
    assert abs(dst.frames(len(out)) - 48000) <= 1
    assert abs(peak_hz(out, 48000) - 440) < 2


def test_resample_same_rate_is_identity() -> None:
    data = sine(300, 100, 22050)
    assert resample(data, FMT, FMT) == data


def test_stereo_is_refused() -> None:
    with pytest.raises(ValueError):
        resample(pcm([0, 0]), PcmFormat(22050, 2), FMT)


def test_streaming_resampler_is_seamless_across_chunks() -> None:
    src, dst = PcmFormat(24000), PcmFormat(22050)
    data = sine(523, 24000, 24000)
    whole = values(resample(data, src, dst)).astype(int)
    stream = Resampler(src, dst)
    sizes = [1, 777, 2048, 3, 5000]  # odd byte counts too: split samples are carried
    parts, offset = [], 0
    for size in sizes * 20:
        if offset >= len(data):
            break
        parts.append(stream.process(data[offset : offset + size]))
        offset += size
    parts.append(stream.process(data[offset:], last=True))
    chunked = values(b"".join(parts)).astype(int)
    assert abs(len(chunked) - len(whole)) <= 2
    n = min(len(chunked), len(whole)) - 50
    # No clicks at chunk boundaries: the chunked signal tracks the one-shot one.
    assert np.max(np.abs(chunked[50:n] - whole[50:n])) < 200
