"""One message's synthesis: engines in turn, retried, capped, into the feed.

Apart from the player because it is the part that talks to engines: the
player decides what plays, a pump only produces one message's audio (into
memory while prefetched, into its feed segment once committed) and tells the
player when every engine has failed.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from ..core.playback import Failed
from ..speech.base import EngineError
from .loudness import Leveller, alert_pcm
from .pcm import Resampler, apply_volume, ramp_down
from .voices import AliasVoice

if TYPE_CHECKING:
    from ..core.decisions import Message
    from .player import Player

__all__ = ["STALL_TIMEOUT_S", "WIND_DOWN_S", "Pump"]

# A synthesis that yields nothing for this long fails over to the fallback.
STALL_TIMEOUT_S = 15.0
# How long a cancelled synthesis may take to wind down (a socket's cancel,
# a worker thread's sentence) before it is abandoned; nobody waits on it.
WIND_DOWN_S = 3.0
# Audio pieces at least this long are levelled off the event loop.
OFFLOAD_MS = 250


class Pump:
    """Synthesises one message; buffers until attached to a feed segment."""

    def __init__(self, player: Player, message: Message) -> None:
        self.player = player
        self.message = message
        self.segment: str | None = None  # the feed segment, once committed
        self.buffer: list[bytes] = []
        self.ended = False
        self.stopped = False  # cut or forgotten: write nothing more
        self.failure: Failed | None = None  # every engine and retry failed
        self.engine = ""
        self.first_audio_ms: float | None = None
        self.truncated = False
        self.frames = 0
        self._leveller: Leveller | None = None  # this engine attempt's, if levelling
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"pump-{message.id}")

    def attach(self, segment: str) -> None:
        self.segment = segment
        feed = self.player.feed
        for pcm in self.buffer:
            feed.write(segment, pcm)
        self.buffer.clear()
        if self.ended:
            feed.end(segment)

    def stop(self) -> None:
        """Stop now; the task winds down on its own (bounded), nobody awaits it."""
        self.stopped = True
        self.buffer.clear()
        self.task.cancel()

    def _deliver(self, pcm: bytes) -> None:
        if not pcm or self.stopped:
            return
        if self.segment is None:
            self.buffer.append(pcm)
        else:
            self.player.feed.write(self.segment, pcm)

    def _finish(self) -> None:
        self.ended = True
        if self.segment is not None and not self.stopped:
            self.player.feed.end(self.segment)

    async def _run(self) -> None:
        player = self.player
        error = ""
        for attempt in range(player.retries + 1):
            if attempt:
                await asyncio.sleep(player.retry_backoff_s * 2 ** (attempt - 1))
            engines = player.engines_for(self.message)
            for n, engine in enumerate(engines):
                try:
                    await self._speak(engine)
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as e:  # an engine fault of any kind: next engine
                    error = str(e) if isinstance(e, EngineError) else f"{type(e).__name__}: {e}"
                    player.report(Failed(self.message.id, engine.name, error))
                    more = n + 1 < len(engines) or attempt < player.retries
                    if more and self.frames > 0 and self.segment is not None:
                        # partial audio was heard: start the message over, cleanly
                        player.restart_segment(self)
                    self.frames = 0
                    self.buffer.clear()
        self.failure = Failed(self.message.id, self.engine, error, final=True)
        player.failed(self)

    async def _speak(self, engine: Any) -> None:  # noqa: ANN401 - alias options go past the Engine protocol
        player = self.player
        self.engine = engine.name
        resampler = Resampler(engine.format, player.format)
        text = self.message.spoken or self.message.text
        if self.message.sound:  # the alert, in the same segment: one skip cuts both
            target = player.loudness_lufs  # the alert levelled too; gain_db is a voice's
            chime = alert_pcm(self.message.sound, player.format, target, player.volume)
            self.frames += player.format.frames(len(chime))
            self._deliver(chime)
        # target loudness first, the alias's gain_db on top, then the master volume
        if isinstance(engine, AliasVoice):
            synthesis = engine.synthesize(text, voice=self.message.voice, gained=False)
            post_gain = engine.gain * player.volume
        else:
            synthesis = engine.synthesize(text, voice=self.message.voice)
            post_gain = player.volume
        key = _voice_key(engine)
        self._leveller = None
        if player.loudness_lufs is not None:
            self._leveller = Leveller(
                player.format.sample_rate,
                player.loudness_lufs,
                history=player.loudness_memory.get(key),
                post_gain=post_gain,
            )
        complete = False
        try:
            chunks = aiter(synthesis)
            while True:
                try:
                    chunk = await asyncio.wait_for(anext(chunks), STALL_TIMEOUT_S)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise EngineError(engine.name, f"no audio for {STALL_TIMEOUT_S:g} s") from None
                if self.stopped:  # cut, even if wait_for swallowed the cancel (3.11)
                    break
                if self.first_audio_ms is None and synthesis.first_chunk_s is not None:
                    self.first_audio_ms = synthesis.first_chunk_s * 1000
                pcm = await self._shape(resampler.process(chunk), post_gain)
                if self._cap(pcm, player.max_frames):
                    self.truncated = True
                    break
            if not self.truncated and not self.stopped:
                tail = await self._shape(resampler.process(b"", last=True), post_gain)
                if self._leveller is not None:
                    tail += self._leveller.flush()
                self.truncated = self._cap(tail, player.max_frames)
            complete = not self.truncated and not self.stopped
        finally:
            leveller = self._leveller
            if leveller is not None and not self.stopped and (known := leveller.history()):
                player.loudness_memory[key] = known  # where this voice's next message starts
            if not complete:  # skipped, truncated or failed: stop generating, bounded
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(synthesis.cancel(), WIND_DOWN_S)
        self._finish()

    async def _shape(self, pcm: bytes, post_gain: float) -> bytes:
        """Levelled (gain_db and volume included), or only scaled when levelling is
        off. A long piece (a Piper clause: ~10 ms of work per second at 48 kHz) is
        levelled in a thread, so a skip never waits behind it."""
        leveller = self._leveller
        if leveller is None:
            return apply_volume(pcm, post_gain)
        if len(pcm) >= self.player.format.nbytes(self.player.format.frames_for_ms(OFFLOAD_MS)):
            return await asyncio.to_thread(leveller.process, pcm)
        return leveller.process(pcm)

    def _cap(self, pcm: bytes, limit: int) -> bool:
        """Deliver `pcm` up to `max_message_seconds`; fade out and stop there."""
        fmt = self.player.format
        frames = fmt.frames(len(pcm))
        if self.frames + frames <= limit:
            self.frames += frames
            self._deliver(pcm)
            return False
        keep = fmt.nbytes(max(0, limit - self.frames))
        ramp = min(keep, fmt.nbytes(self.player.ramp_frames))
        head, tail = pcm[: keep - ramp], pcm[keep - ramp : keep]
        self._deliver(head + ramp_down(tail, fmt) if tail else head)
        self.frames = limit
        return True


def _voice_key(engine: Any) -> str:  # noqa: ANN401 - an Engine, alias or inline voice
    """Whose loudness a message teaches: the alias's (its parameters change the
    voice's level), else the engine's."""
    return getattr(engine, "alias", "") or engine.name
