"""Live figures in the Prometheus text format, fed by the event log.

Every number comes from an event already logged (accepted, rejected,
started, failed, silenced, twitch.connected), so the metrics can never
disagree with the log; queue depth is read from the core when scraped, and
the device's underflows (too many to log one by one) from the output.
One registry per daemon, so tests and two daemons never share counters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .. import logs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_FIRST_AUDIO_BUCKETS_S = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)
_SKIP_BUCKETS_S = (0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 1.0)


class _QueueDepth(Collector):
    def __init__(self, depth: Callable[[], Mapping[str, int]]) -> None:
        self.depth = depth

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "tts_queue_depth", "Messages waiting, by priority", labels=["priority"]
        )
        for priority, count in self.depth().items():
            family.add_metric([priority], count)
        yield family


class _DeviceUnderflows(Collector):
    """The device ran out of audio because the player came too late (a machine
    too busy to run it), apart from `tts_audio_underruns` (the voice came late)."""

    def __init__(self, count: Callable[[], int]) -> None:
        self.count = count

    def collect(self) -> Iterable[Metric]:
        yield CounterMetricFamily(
            "tts_device_underflows",
            "Times the sound device ran out of audio (the machine kept the player waiting)",
            value=self.count(),
        )


class Metrics:
    def __init__(
        self,
        *,
        primary_engine: str,
        depth: Callable[[], Mapping[str, int]],
        device_underflows: Callable[[], int] = lambda: 0,
    ) -> None:
        self.primary = primary_engine
        self.registry = CollectorRegistry()
        r = self.registry
        self.accepted = Counter(
            "tts_messages_accepted", "Messages accepted", ["source"], registry=r
        )
        self.rejected = Counter(
            "tts_messages_rejected", "Messages rejected", ["source", "reason"], registry=r
        )
        self.dropped = Counter(
            "tts_messages_dropped", "Accepted messages dropped", ["reason"], registry=r
        )
        self.finished = Counter("tts_messages_finished", "Messages heard to the end", registry=r)
        self.skipped = Counter("tts_messages_skipped", "Messages skipped", registry=r)
        self.failures = Counter(
            "tts_engine_failures", "Messages an engine failed", ["engine"], registry=r
        )
        self.fallbacks = Counter("tts_fallbacks", "Messages read by a fallback engine", registry=r)
        self.underruns = Counter(
            "tts_audio_underruns", "Messages heard with silence inside (audio late)", registry=r
        )
        self.reconnects = Counter(
            "twitch_reconnects", "EventSub sessions re-established", registry=r
        )
        self.tips = Counter(
            "tts_tips", "Tips read from tip providers", ["source", "currency"], registry=r
        )
        self.tip_amount = Counter(
            "tts_tip_amount",
            "Sum of those tips, in their own currency",
            ["source", "currency"],
            registry=r,
        )
        self.first_audio = Histogram(
            "tts_time_to_first_audio_seconds",
            "Engine time to the first audio of a message",
            buckets=_FIRST_AUDIO_BUCKETS_S,
            registry=r,
        )
        self.skip_latency = Histogram(
            "tts_skip_latency_seconds",
            "Skip command to silence in the output feed",
            buckets=_SKIP_BUCKETS_S,
            registry=r,
        )
        r.register(_QueueDepth(depth))
        r.register(_DeviceUnderflows(device_underflows))

    def observe(self, record: dict[str, Any]) -> None:
        """An event-log listener: turn one event into figures."""
        event = record.get("event")
        if event == logs.TTS_ACCEPTED:
            self.accepted.labels(record.get("source") or "?").inc()
        elif event == logs.TTS_REJECTED:
            self.rejected.labels(record.get("source") or "-", record.get("reason") or "?").inc()
        elif event == logs.TTS_DROPPED:
            self.dropped.labels(record.get("reason") or "?").inc()
        elif event == logs.TTS_FINISHED:
            self.finished.inc()
        elif event == logs.TTS_SKIPPED:
            self.skipped.inc()
        elif event == logs.TTS_FAILED:
            self.failures.labels(record.get("engine") or "?").inc()
        elif event == logs.TTS_STARTED:
            if record.get("first_audio_ms") is not None:
                self.first_audio.observe(float(record["first_audio_ms"]) / 1000)
            if record.get("engine") not in (None, "", self.primary):
                self.fallbacks.inc()
        elif event == logs.TTS_SILENCED and record.get("after_ms") is not None:
            self.skip_latency.observe(float(record["after_ms"]) / 1000)
        elif event == logs.TIPS_RECEIVED:
            labels = (record.get("source") or "?", record.get("currency") or "?")
            self.tips.labels(*labels).inc()
            self.tip_amount.labels(*labels).inc(float(record.get("amount") or 0))
        elif event == logs.AUDIO_UNDERRUN:
            self.underruns.inc()
        elif event == logs.TWITCH_CONNECTED:
            self.reconnects.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
