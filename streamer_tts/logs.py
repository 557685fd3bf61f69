"""The event log: named events as JSON lines for machines, text for people.

Event names and their minimum fields are a contract (tests outside the
repository read them). Library logs (TwitchIO, PortAudio noise) go through
the same handler. Every line passes through redaction: a secret registered
here never reaches the output.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import IO, Any

__all__ = [
    "AUDIO_LOST",
    "AUDIO_RESTORED",
    "AUDIO_UNDERRUN",
    "BOT_READY",
    "TTS_ACCEPTED",
    "TTS_DROPPED",
    "TTS_FAILED",
    "TTS_FINISHED",
    "TTS_REJECTED",
    "TTS_SKIPPED",
    "TTS_STARTED",
    "add_listener",
    "emit",
    "setup_logging",
]

TTS_ACCEPTED = "tts.accepted"  # id, source, user, priority, text
TTS_REJECTED = "tts.rejected"  # source, user, reason
TTS_STARTED = "tts.started"  # id, engine, first_audio_ms
TTS_FINISHED = "tts.finished"  # id
TTS_SKIPPED = "tts.skipped"  # id, by
TTS_DROPPED = "tts.dropped"  # id, reason
TTS_FAILED = "tts.failed"  # id, engine, error
BOT_READY = "bot.ready"
AUDIO_UNDERRUN = "audio.underrun"  # id, ms: silence inside a message (its audio came late)
AUDIO_LOST = "audio.lost"  # error: the output device stopped taking audio
AUDIO_RESTORED = "audio.restored"  # after_s: the device was reopened

_EVENTS = logging.getLogger("streamer_tts.events")
_listeners: list[Callable[[dict[str, Any]], None]] = []
_secrets: set[str] = set()  # shared by every handler's redactor
_longest_first: tuple[str, ...] = ()


def emit(event: str, /, **fields: Any) -> None:
    """Log one named event with its fields."""
    _EVENTS.info(event, extra={"fields": fields})
    if _listeners:
        record = {"event": event, **fields}
        for listener in list(_listeners):
            listener(record)


def add_listener(listener: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
    """Receive every event as a dict (the demo printer, the API stream)."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def add_secrets(secrets: Iterable[str]) -> None:
    """Values never to print (tokens learnt at run time, keys from config)."""
    global _longest_first
    _secrets.update(s for s in secrets if s and len(s) >= 4)
    # sorted once here, not on every log line: a secret inside another goes after it
    _longest_first = tuple(sorted(_secrets, key=len, reverse=True))


class _Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        add_secrets(secrets)

    def __call__(self, text: str) -> str:
        for secret in _longest_first:
            if secret in text:
                text = text.replace(secret, "***")
        return text


class JsonFormatter(logging.Formatter):
    def __init__(self, redact: _Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] | None = getattr(record, "fields", None)
        if fields is not None:
            line: dict[str, Any] = {"ts": _now_iso(), "event": record.getMessage(), **fields}
        else:
            line = {
                "ts": _now_iso(),
                "event": "log",
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            }
            if record.exc_info:
                line["traceback"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(line, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """One readable line per event: `12:00:01.234 accepted  cheer alice ...`."""

    def __init__(self, redact: _Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        clock = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        fields: dict[str, Any] | None = getattr(record, "fields", None)
        if fields is None:
            text = f"{clock} {record.levelname.lower():8} {record.name}: {record.getMessage()}"
            if record.exc_info:
                text += "\n" + self.formatException(record.exc_info)
            return self.redact(text)
        return self.redact(f"{clock} {describe(record.getMessage(), fields)}")


def describe(event: str, fields: dict[str, Any]) -> str:
    """The human line for an event (also used by the demo printer)."""
    f = dict(fields)
    name = event.removeprefix("tts.")
    who = f.pop("user", "")
    mid = f.pop("id", "")
    if event == TTS_ACCEPTED:
        text = f.pop("text", "")
        head = f"{name:9} {f.pop('source', ''):12} {who:16} [{f.pop('priority', '')}]"
        return f"{head} {text!r}" + _rest(f)
    if event == TTS_REJECTED:
        head = f"{name:9} {f.pop('source', '') or '-':12} {who:16} {f.pop('reason', '')}"
        return head + _rest(f)
    return f"{name:9} {mid}" + (f" {who}" if who else "") + _rest(f)


def _rest(fields: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in fields.items() if v not in (None, "")]
    return ("  " + " ".join(parts)) if parts else ""


def quiet(logger: str) -> None:
    """Show only warnings and errors of a chatty library (the demo)."""
    logging.getLogger(logger).setLevel(logging.WARNING)


def setup_logging(
    *,
    format: str = "text",
    file: str | None = None,
    level: str = "info",
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Route every log line (ours and libraries') to one redacting handler."""
    redact = _Redactor(secrets)
    handler: logging.Handler
    if file:
        handler = logging.FileHandler(file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(redact) if format == "json" else TextFormatter(redact))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
    _EVENTS.setLevel(logging.INFO)
    return handler
