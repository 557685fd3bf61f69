"""The player: sole owner of the feed, the output and the engines.

The conductor tells it what to do (`play`, `prefetch`, `cut`, `pause` ...);
nothing else writes audio. Every command returns at once: a cut silences
the feed and cancels the message's synthesis without waiting for the engine
to wind down (a socket may take seconds); the synthesis task cleans up on
its own, within `WIND_DOWN_S`. Each message is synthesised by a *pump* task
that resamples, levels its loudness, sets the volume, caps the duration and
writes into the feed (or, while only prefetched, into memory); an engine that fails is followed
by the next, and all of them are retried `retries` times with a backoff.
What happens at the speaker comes back from the feed's thread as the
playback's own inputs (`Started`, `Low`, `Finished`, `Cut`, `Failed`),
handed to the one consumer set with `attach`. Every segment in the feed has
its own id (`<message id>#<n>`), so a late event of a cut segment can never
be taken for a replay of the message.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import logs
from ..core.playback import (
    Cut,
    CutAudio,
    Failed,
    Finished,
    Forget,
    Lost,
    Low,
    PauseAudio,
    Play,
    ResumeAudio,
    Started,
)
from .devices import FRAMES_PER_BUFFER
from .feed import CUT, FINISHED, LOST, LOW, STARTED, UNDERRUN, Feed, FeedEvent
from .heap import QuietCollector
from .outputs import Output, open_output
from .pcm import PcmFormat
from .pump import WIND_DOWN_S, Pump

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..core.decisions import Message
    from ..speech.base import Engine
    from .loudness import VoiceLevel
    from .voices import VoiceBook

__all__ = ["MAX_PREFETCH", "WIND_DOWN_S", "Player", "Report"]

log = logging.getLogger(__name__)

# Messages synthesised ahead of their turn; more would only hold memory and
# engine time for messages a higher-priority arrival may push back anyway.
MAX_PREFETCH = 2
RETRY_BACKOFF_S = 0.5  # doubled after each round of failed engines

Report = Started | Low | Finished | Cut | Failed | Lost


def _no_one(report: Report) -> None:
    return None


class Player:
    def __init__(
        self,
        *,
        engines: list[Engine],
        output: str,
        notify: Callable[[Report], object] = _no_one,
        sample_rate: int = 22050,
        gap_ms: int = 300,
        volume: float = 1.0,
        max_message_seconds: float = 30.0,
        ramp_ms: float = 5.0,
        frames_per_buffer: int = FRAMES_PER_BUFFER,
        retries: int = 2,
        retry_backoff_s: float = RETRY_BACKOFF_S,
        max_preroll_ms: float = 120,
        voices: VoiceBook | None = None,
        wait_for_device: bool = False,
        loudness_lufs: float | None = None,
    ) -> None:
        if not engines:
            raise ValueError("the player needs at least one engine")
        self.engines = engines
        self.voices = voices  # aliases over the engines (`voices:`), if configured
        self._notify = notify
        self.format = PcmFormat(sample_rate)
        self.volume = volume
        self.loudness_lufs = loudness_lufs  # each message levelled to this (None: raw)
        self.loudness_memory: dict[str, VoiceLevel] = {}  # voice -> the gain it needed
        self.retries = max(0, retries)
        self.retry_backoff_s = retry_backoff_s
        self.max_frames = int(max_message_seconds * sample_rate)
        self.ramp_frames = self.format.frames_for_ms(ramp_ms)
        self.feed = Feed(
            self.format,
            gap_ms=gap_ms,
            ramp_ms=ramp_ms,
            max_preroll_ms=max_preroll_ms,
            on_event=self._on_feed,
        )
        self.output: Output = open_output(
            output, self.feed, frames_per_buffer=frames_per_buffer, wait_for_device=wait_for_device
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pumps: dict[str, Pump] = {}  # message id -> pump (committed or prefetched)
        self._segments: dict[str, str] = {}  # live segment id -> message id
        self._winding: set[asyncio.Task[None]] = set()  # stopped pumps still cleaning up
        self._serial = itertools.count(1)
        self._committed: list[str] = []  # message ids in the feed, in play order
        self.heap = QuietCollector(self._idle)
        """Full garbage collections, run while nothing sounds (:mod:`.heap`)."""
        self._heap_task: asyncio.Task[None] | None = None

    def attach(self, notify: Callable[[Report], object]) -> None:
        """Send every report to `notify` (the conductor's inbox): its one consumer."""
        self._notify = notify

    def report(self, event: Report) -> None:
        """Hand a report over; a failing consumer is logged, never raised into
        the feed's callback or a pump."""
        try:
            self._notify(event)
        except Exception:
            log.exception("player report %r was not taken", event)

    # --- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for engine in self.engines:
            await engine.start()
        if self.voices is not None:
            await self.voices.start()
        self.output.start()
        self.heap.start()
        self._heap_task = asyncio.create_task(self.heap.run(), name="heap")

    async def close(self) -> None:
        if self._heap_task is not None:
            self._heap_task.cancel()
            self._heap_task = None
        self.heap.stop()
        self.feed.cut_all()
        for pump in list(self._pumps.values()):
            self._stop(pump)
        self._pumps.clear()
        if self._winding:  # bounded: each wind-down is itself bounded by WIND_DOWN_S
            await asyncio.wait(set(self._winding), timeout=WIND_DOWN_S)
        await asyncio.sleep(0.02)  # let the output play the fade-out
        await asyncio.to_thread(self.output.close)
        for engine in self.engines:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(engine.close(), WIND_DOWN_S)
        if self.voices is not None:
            await self.voices.close()

    def _idle(self) -> bool:
        return self.feed.sounding is None and not self.feed.queued

    def engines_for(self, message: Message) -> list[Any]:
        """The message's voice alias and its fallbacks; else the engines, as ever."""
        chain = self.voices.chain(message) if self.voices is not None else None
        return chain or list(self.engines)

    # --- commands from the conductor: none of them waits ---------------------

    def do(self, action: Play | CutAudio | Forget | PauseAudio | ResumeAudio) -> None:
        """Carry out one of the playback's audio actions."""
        match action:
            case Play(message):
                self.play(message)
            case CutAudio(message_id):
                self.cut(message_id)
            case Forget(message_id):
                self.forget(message_id)
            case PauseAudio():
                self.pause()
            case ResumeAudio():
                self.resume()

    @property
    def committed(self) -> tuple[str, ...]:
        return tuple(self._committed)

    def prefetched(self) -> list[str]:
        return [mid for mid in self._pumps if mid not in self._committed]

    def play(self, message: Message) -> None:
        """Commit a message to the feed, after whatever is committed already."""
        pump = self._pumps.get(message.id)
        if pump is None:
            pump = self._pumps[message.id] = Pump(self, message)
        else:
            pump.message = message  # the text to speak was chosen at pop time
        if pump.failure is not None:  # failed while prefetched: say so now
            self._pumps.pop(message.id, None)
            self.report(pump.failure)
            return
        segment = f"{message.id}#{next(self._serial)}"
        self.feed.begin(segment)
        self._segments[segment] = message.id
        self._committed.append(message.id)
        pump.attach(segment)

    def prefetch(self, message: Message) -> None:
        """Start synthesising a likely next message into memory."""
        if message.id in self._pumps:
            return
        if len(self.prefetched()) >= MAX_PREFETCH:
            return
        self._pumps[message.id] = Pump(self, message)

    def forget(self, message_id: str) -> None:
        """Drop a prefetched message (removed from the queue)."""
        if message_id in self._committed:
            return
        pump = self._pumps.pop(message_id, None)
        if pump is not None:
            self._stop(pump)

    def cut(self, message_id: str) -> bool:
        """Stop a committed message now: the feed fades it, its synthesis is
        cancelled and left to wind down by itself. False if not committed."""
        if message_id not in self._committed:
            self.forget(message_id)
            return False
        pump = self._pumps.pop(message_id, None)
        segment = pump.segment if pump else None
        if segment is not None:
            sounding = self.feed.sounding == segment
            # only a sounding segment reports its cut (after the fade)
            if not self.feed.cut(segment) or not sounding:
                self._segments.pop(segment, None)
        self._committed.remove(message_id)
        if pump is not None:
            self._stop(pump)
        return True

    def pause(self) -> None:
        self.feed.pause()

    def resume(self) -> None:
        self.feed.resume()

    @property
    def paused(self) -> bool:
        return self.feed.paused

    def _stop(self, pump: Pump) -> None:
        pump.stop()
        if not pump.task.done():
            self._winding.add(pump.task)
            pump.task.add_done_callback(self._winding.discard)

    # --- from the pumps --------------------------------------------------------

    def restart_segment(self, pump: Pump) -> None:
        """A failed engine left partial audio: fade it, begin a fresh segment.

        Safe to append at the feed's end: a message is only committed behind
        one whose segment is complete (the conductor waits for its `low`), and
        an engine can only fail before that.
        """
        old = pump.segment
        if old is not None:
            self.feed.cut(old)
            self._segments.pop(old, None)
        segment = f"{pump.message.id}#{next(self._serial)}"
        self.feed.begin(segment)
        self._segments[segment] = pump.message.id
        pump.segment = segment

    def failed(self, pump: Pump) -> None:
        """Every engine and retry failed: no segment, no "finished", a final failure.

        A prefetched message reports it when it is committed (`play`).
        """
        if pump.segment is None or pump.stopped or pump.failure is None:
            return
        self._segments.pop(pump.segment, None)
        self.feed.cut(pump.segment)
        self._pumps.pop(pump.message.id, None)
        if pump.message.id in self._committed:
            self._committed.remove(pump.message.id)
        self.report(pump.failure)

    # --- from the feed's thread ----------------------------------------------

    def _on_feed(self, event: FeedEvent) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._handle_feed, event)

    def _handle_feed(self, event: FeedEvent) -> None:
        message_id = self._segments.get(event.message_id)
        if message_id is None:
            return  # a segment we already let go of (cut, restarted)
        pump = self._pumps.get(message_id)
        if pump is not None and pump.segment is not None and pump.segment != event.message_id:
            # an older segment of a message committed again (requeued after a
            # cut): its late reports must not end or start the new reading
            if event.kind in (FINISHED, CUT):
                self._segments.pop(event.message_id, None)
            return
        if event.kind == STARTED:
            engine = pump.engine if pump else ""
            self.report(Started(message_id, engine, pump.first_audio_ms if pump else None))
        elif event.kind == LOW:
            self.report(Low(message_id))
        elif event.kind in (FINISHED, CUT):
            self._segments.pop(event.message_id, None)
            if pump is not None and pump.segment == event.message_id:
                self._pumps.pop(message_id, None)
            if message_id in self._committed:
                self._committed.remove(message_id)
            if event.kind == FINISHED:
                truncated = bool(pump and pump.truncated)
                self.report(Finished(message_id, pump.engine if pump else "", truncated))
            else:
                self.report(Cut(message_id))
        elif event.kind == LOST:
            self.report(Lost(message_id))
        elif event.kind == UNDERRUN:
            ms = round(event.frames * 1000 / self.format.sample_rate, 1)
            logs.emit(logs.AUDIO_UNDERRUN, id=message_id, ms=ms)
