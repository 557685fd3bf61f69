"""The streaming leveller against pyloudnorm (the reference BS.1770-4 meter).

Signals are made here: a tone, noise and a speech-like signal (voiced
syllables of random length and level between pauses, peaks at full scale as
Piper makes them). Each is fed in chunks of many sizes, as engines deliver.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pyloudnorm as pyln
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from streamer_tts.audio.loudness import (
    CEILING_DBFS,
    Leveller,
    Meter,
    VoiceLevel,
    alert_pcm,
    integrated_loudness,
    level_whole,
)
from streamer_tts.audio.pcm import PcmFormat
from streamer_tts.config.schema import Audio

RATE = 22050
TARGET = -18.0
CEILING = 10 ** (CEILING_DBFS / 20) * 32767 + 1  # +1: rounding to int16


def tone(seconds: float, amplitude: float, hz: float = 440.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * hz * t)


def noise(seconds: float, rms: float, seed: int = 1, rate: int = RATE) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(round(seconds * rate)) * rms


def speechlike(seconds: float, seed: int = 1, peak: float = 32767, rate: int = RATE) -> np.ndarray:
    """Voiced syllables (harmonics of a wandering pitch, a little breath noise),
    80-300 ms each at random levels within 12 dB, pauses up to 0.4 s."""
    rng = np.random.default_rng(seed)
    out: list[np.ndarray] = []
    total = 0
    while total < seconds * rate:
        n = int(rng.uniform(0.08, 0.3) * rate)
        t = np.arange(n) / rate
        f0 = rng.uniform(90, 220) * (1 + 0.1 * t)
        phase = 2 * np.pi * np.cumsum(f0) / rate
        voiced = sum(np.cos(h * phase) / h**1.0 for h in range(1, 12))  # peaky, as a voice
        env = np.sin(np.pi * np.arange(n) / n) ** 2 * 10 ** (rng.uniform(-12, 0) / 20)
        out.append(env * (voiced + 0.05 * rng.standard_normal(n)))
        pause = int(rng.uniform(0.0, 0.4) * rate) if rng.random() < 0.4 else int(0.02 * rate)
        out.append(np.zeros(pause))
        total += n + pause
    x = np.concatenate(out)[: int(seconds * rate)]
    return x / np.abs(x).max() * peak


def reference(x: np.ndarray, rate: int = RATE) -> float:
    return float(pyln.Meter(rate).integrated_loudness(np.asarray(x, dtype=np.float64) / 32768))


def as_pcm(x: np.ndarray) -> bytes:
    return np.clip(np.rint(x), -32768, 32767).astype("<i2").tobytes()


def level(x: np.ndarray, chunk_s: float, rate: int = RATE, **kwargs: object) -> np.ndarray:
    return leveled(x, chunk_s, rate, **kwargs)[0]


def leveled(
    x: np.ndarray, chunk_s: float, rate: int = RATE, **kwargs: object
) -> tuple[np.ndarray, Leveller]:
    """Feed `x` in chunks of `chunk_s` (the last one shorter), then flush."""
    leveller = Leveller(rate, TARGET, **kwargs)  # type: ignore[arg-type]
    pcm = as_pcm(x)
    step = max(2, round(chunk_s * rate) * 2)
    out = [leveller.process(pcm[i : i + step]) for i in range(0, len(pcm), step)]
    out.append(leveller.flush())
    y = np.frombuffer(b"".join(out), "<i2")
    assert len(y) == len(x)  # nothing lost, nothing added
    return y, leveller


def test_the_meter_agrees_with_pyloudnorm_fed_in_any_pieces() -> None:
    rng = np.random.default_rng(7)
    for rate in (22050, 48000):
        for x in (tone(3, 8000, rate=rate), noise(2.5, 3000, rate=rate), speechlike(4, rate=rate)):
            meter = Meter(rate)
            i = 0
            while i < len(x):
                n = int(rng.integers(1, rate // 4))
                meter.feed(x[i : i + n] / 32768)
                i += n
            assert meter.integrated() == pytest.approx(reference(x, rate), abs=0.01)
            assert integrated_loudness(x, rate) == pytest.approx(reference(x, rate), abs=0.01)


@pytest.mark.parametrize("chunk_s", [0.01, 0.05, 0.3, 2.0, 100.0])
@pytest.mark.parametrize("gain_db", [-20.0, 8.0])
def test_a_tone_and_noise_land_on_the_target(chunk_s: float, gain_db: float) -> None:
    scale = 10 ** (gain_db / 20)  # both near -18 LUFS unscaled
    for x in (tone(3, 8000 * scale), noise(3, 3000 * scale)):
        assert abs(reference(x) - TARGET) > 3  # there is something to level
        y = level(x, chunk_s)
        assert reference(y) == pytest.approx(TARGET, abs=0.5)


@pytest.mark.parametrize("chunk_s", [0.02, 0.05, 0.5, 1.5, 100.0])
def test_speech_lands_on_the_target(chunk_s: float) -> None:
    """Peaks at full scale (so the limiter works), levels that vary within the
    message: the first one lands within 1 LU, a voice with history within 0.5."""
    first, second = speechlike(4, seed=2), speechlike(4, seed=3)
    assert reference(first) < TARGET - 2  # quiet: it needs more gain than its peaks allow
    y, leveller = leveled(first, chunk_s)
    assert reference(y) == pytest.approx(TARGET, abs=1.0)
    history = leveller.history()
    assert history is not None
    assert history.level_db == pytest.approx(TARGET - reference(first), abs=0.1)
    assert reference(level(second, chunk_s, history=history)) == pytest.approx(TARGET, abs=0.5)


def test_a_full_scale_input_never_clips() -> None:
    square = np.sign(tone(2, 1.0)) * 32767
    for x in (square, tone(2, 32767), noise(2, 20000), speechlike(3)):
        for chunk_s in (0.01, 0.05, 1.0):
            y = level(x, chunk_s)
            assert np.abs(y.astype(np.int32)).max() <= CEILING
    # the most gain (a whisper) with a sudden click in it: the click is caught too
    whisper = noise(2, 30)
    whisper[RATE] = 32767
    y = level(whisper, 0.05)
    assert np.abs(y.astype(np.int32)).max() <= CEILING
    # and with gain_db and the volume on top
    y = level(speechlike(3), 0.05, post_gain=2.0)
    assert np.abs(y.astype(np.int32)).max() <= CEILING


def test_silence_stays_silence() -> None:
    assert not level(np.zeros(RATE * 2), 0.05).any()
    x = np.concatenate((speechlike(2), np.zeros(RATE)))
    y = level(x, 0.05)
    assert not y[2 * RATE :].any()
    assert not level(np.zeros(RATE), 0.05, history=VoiceLevel(12.0)).any()


def _gain(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    loud = np.abs(x) > 2000  # where int16 rounding cannot fake a step
    return y[loud] / x[loud], np.flatnonzero(loud)


def test_gain_changes_are_ramps_not_steps() -> None:
    """A quiet tone, then one 20 dB louder from one chunk to the next: the gain
    falls, and it falls smoothly, with no step from one sample to the next."""
    x = np.concatenate((tone(1.5, 1000), tone(1.5, 10000)))
    for chunk_s in (0.01, 0.05, 0.5):
        y = level(x, chunk_s).astype(np.float64)
        g, where = _gain(x, y)
        adjacent = np.diff(where) == 1
        steps = np.abs(np.diff(g))[adjacent] / g[:-1][adjacent]
        # the 10x fall is spread over hundreds of samples: none moves it 3 %
        assert steps.max() < 0.03, (chunk_s, steps.max())
        assert g[-1] < g[0] / 5  # it did level


def test_the_limiter_ramps_down_before_a_peak() -> None:
    """A loud burst in a quiet tone: the gain is already lower before the burst."""
    x = tone(3, 3000)
    burst = slice(2 * RATE, 2 * RATE + RATE // 20)
    x[burst] *= 10
    y = level(x, 0.05).astype(np.float64)
    g = y[2 * RATE - 400 : 2 * RATE] / x[2 * RATE - 400 : 2 * RATE]
    settled = np.median((y / np.where(x == 0, 1, x))[RATE : RATE + RATE // 2])
    assert g[-100:].mean() < settled * 0.8  # down before the burst
    assert np.abs(y[burst]).max() <= CEILING


@given(st.lists(st.integers(1, 4000), min_size=1, max_size=40), st.integers(0, 3))
@settings(max_examples=30, deadline=None)
def test_any_chunking_keeps_every_sample_and_holds_back_at_most_10_ms(
    sizes: list[int], seed: int
) -> None:
    x = speechlike(1.5, seed=seed)
    leveller = Leveller(RATE, TARGET)
    pcm, i, given_n, got = as_pcm(x), 0, 0, 0
    for n in sizes:
        piece = pcm[i : i + 2 * n]
        i += len(piece)
        given_n += len(piece) // 2
        got += len(leveller.process(piece)) // 2
        assert given_n - got <= round(RATE * 0.010) + 1
    got += len(leveller.flush()) // 2
    assert got == given_n


def test_gain_db_and_volume_go_on_top_of_the_target() -> None:
    y = level(noise(3, 1000), 0.05, post_gain=10 ** (-6 / 20))
    assert reference(y) == pytest.approx(TARGET - 6, abs=0.5)


def test_a_known_voice_starts_at_its_gain() -> None:
    """With history, the very first chunk already has the voice's gain."""
    x = noise(1, 1000)
    need = TARGET - reference(x)
    y = level(x, 0.05, history=VoiceLevel(need))
    head = slice(0, RATE // 20)
    got_db = 20 * np.log10(np.sqrt(np.mean(y[head].astype(float) ** 2) / np.mean(x[head] ** 2)))
    assert got_db == pytest.approx(need, abs=1.0)


def _wav(path: Path, x: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(as_pcm(x))
    return path


def test_an_alert_sound_is_levelled_whole(tmp_path: Path) -> None:
    quiet = _wav(tmp_path / "quiet.wav", tone(1.0, 1500, hz=880, rate=44100), 44100)
    fmt = PcmFormat(RATE)
    out = np.frombuffer(alert_pcm(str(quiet), fmt, TARGET, 1.0), "<i2")
    assert len(out) == RATE
    assert reference(out) == pytest.approx(TARGET, abs=0.2)
    half = np.frombuffer(alert_pcm(str(quiet), fmt, TARGET, 0.5), "<i2")
    assert reference(half) == pytest.approx(TARGET - 6.02, abs=0.2)
    raw = np.frombuffer(alert_pcm(str(quiet), fmt, None, 1.0), "<i2")  # levelling off
    assert np.abs(raw).max() == pytest.approx(1500, abs=20)
    chime = np.frombuffer(alert_pcm("default", fmt, TARGET, 1.0), "<i2")
    assert integrated_loudness(chime, RATE) == pytest.approx(TARGET, abs=0.2)
    # a loud short click is capped at the ceiling rather than clipped
    click = level_whole(as_pcm(tone(0.1, 30000)), RATE, -5.0)
    assert np.abs(np.frombuffer(click, "<i2").astype(int)).max() <= CEILING
    assert not np.frombuffer(level_whole(bytes(2000), RATE, TARGET), "<i2").any()


def test_the_config_key() -> None:
    assert Audio().loudness_lufs == -18.0
    assert Audio(loudness_lufs=None).loudness_lufs is None
    assert Audio(loudness_lufs=-23).loudness_lufs == -23
    for bad in (0, -60, "loud"):
        with pytest.raises(ValidationError):
            Audio(loudness_lufs=bad)
