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
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = [
    "API_FAILED",
    "API_READY",
    "AUDIO_LOST",
    "AUDIO_RESTORED",
    "AUDIO_UNDERRUN",
    "BOT_READY",
    "CONFIG_KEPT",
    "CONFIG_REJECTED",
    "CONFIG_RELOADED",
    "DAEMON_STARTED",
    "DAEMON_STOPPED",
    "DAEMON_STOPPING",
    "DAEMON_TASK_FAILED",
    "ENGINE_AVAILABLE",
    "ENGINE_UNAVAILABLE",
    "JOURNAL_DEGRADED",
    "JOURNAL_FAILED",
    "QUEUE_FLOOD_OFF",
    "QUEUE_FLOOD_ON",
    "TIPS_CONNECTED",
    "TIPS_DISCONNECTED",
    "TIPS_FAILED",
    "TIPS_IGNORED",
    "TIPS_RECEIVED",
    "TIPS_UNKNOWN_CURRENCY",
    "TTS_ACCEPTED",
    "TTS_APPROVED",
    "TTS_CONTROL",
    "TTS_DROPPED",
    "TTS_FAILED",
    "TTS_FINISHED",
    "TTS_HELD",
    "TTS_INTERRUPTED",
    "TTS_REJECTED",
    "TTS_RESTORED",
    "TTS_SILENCED",
    "TTS_SKIPPED",
    "TTS_STARTED",
    "TWITCH_BAD_PAYLOAD",
    "TWITCH_CONNECTED",
    "TWITCH_FAILED",
    "TWITCH_REVOKED",
    "TWITCH_UNREACHABLE",
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
TTS_FAILED = "tts.failed"  # id, engine, error; final: true once no retry is left
TTS_CONTROL = "tts.control"  # action, user, target, detail
TTS_INTERRUPTED = "tts.interrupted"  # id, by (the arrival that cut it; it is read again)
TTS_SILENCED = "tts.silenced"  # id, after_ms (skip command -> end of the fade)
TTS_RESTORED = "tts.restored"  # count, ids
TTS_HELD = "tts.held"  # id, source, user, text (waits for a moderator's approval)
TTS_APPROVED = "tts.approved"  # id, by
QUEUE_FLOOD_ON = "queue.flood_on"  # waiting, threshold
QUEUE_FLOOD_OFF = "queue.flood_off"  # waiting
JOURNAL_FAILED = "journal.failed"  # error (a refused transition: our bug)
JOURNAL_DEGRADED = "journal.degraded"  # error (a write failed: not durable)
DAEMON_STARTED = "daemon.started"  # engine, output
DAEMON_STOPPING = "daemon.stopping"
DAEMON_STOPPED = "daemon.stopped"
DAEMON_TASK_FAILED = "daemon.task_failed"  # task, error: a task that must live ended (exit 1)
CONFIG_RELOADED = "config.reloaded"  # restart_needed_for
CONFIG_REJECTED = "config.rejected"  # problem
CONFIG_KEPT = "config.kept"  # reason
API_READY = "api.ready"  # url
API_FAILED = "api.failed"  # error
BOT_READY = "bot.ready"
TWITCH_CONNECTED = "twitch.connected"  # session
TWITCH_REVOKED = "twitch.revoked"
TWITCH_BAD_PAYLOAD = "twitch.bad_payload"  # kind, error
TWITCH_FAILED = "twitch.failed"  # error (refused at start: config or token)
TWITCH_UNREACHABLE = "twitch.unreachable"  # error, retry_in_s
ENGINE_UNAVAILABLE = "engine.unavailable"  # engine, error[, retry_in_s] (the other engine speaks)
ENGINE_AVAILABLE = "engine.available"  # engine: an unreachable engine answered again
TIPS_CONNECTED = "tips.connected"  # source (kofi: url)
TIPS_DISCONNECTED = "tips.disconnected"  # source, error, retry_in_s
TIPS_RECEIVED = "tips.received"  # source, id, amount, currency
TIPS_IGNORED = "tips.ignored"  # source, reason
TIPS_UNKNOWN_CURRENCY = "tips.unknown_currency"  # source, currency, detail
TIPS_FAILED = "tips.failed"  # source, error (id, for one tip)
AUDIO_UNDERRUN = "audio.underrun"  # id, ms: silence inside a message (its audio came late)
AUDIO_LOST = "audio.lost"  # error: the output device stopped taking audio
AUDIO_RESTORED = "audio.restored"  # after_s: the device was reopened

_EVENTS = logging.getLogger("streamer_tts.events")
_listeners: list[Callable[[dict[str, Any]], None]] = []
_secrets: set[str] = set()  # shared by every handler's redactor
_longest_first: tuple[str, ...] = ()


def emit(event: str, /, **fields: object) -> None:
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
        return self.redact(_escape_json(json.dumps(line, ensure_ascii=False, default=str)))


class TextFormatter(logging.Formatter):
    """One readable line per event: `12:00:01.234 accepted  cheer alice ...`."""

    def __init__(self, redact: _Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        clock = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        fields: dict[str, Any] | None = getattr(record, "fields", None)
        if fields is None:
            message = escape(record.getMessage())
            text = f"{clock} {record.levelname.lower():8} {record.name}: {message}"
            if record.exc_info:  # one escaped line per traceback line
                trace = self.formatException(record.exc_info).splitlines()
                text += "".join("\n" + escape(line) for line in trace)
            return self.redact(text)
        return self.redact(f"{clock} {describe(record.getMessage(), fields)}")


def escape(text: str) -> str:
    """`text` with every control, format (bidi) or separator character written as
    an escape (`\\x1b`, `\\u202e`): a viewer's name cannot repaint a terminal,
    reorder a line or start a new one."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape_char(ch) for ch in text)


def _escape_char(ch: str) -> str:
    code = ord(ch)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def _escape_json(line: str) -> str:
    """json.dumps leaves C1 controls, bidi and line separators raw with
    ensure_ascii=False; write them as \\uXXXX (valid JSON, same value)."""
    if line.isprintable():
        return line
    return "".join(
        ch if ch.isprintable() or ch == " " else "".join(f"\\u{u:04x}" for u in _utf16(ch))
        for ch in line
    )


def _utf16(ch: str) -> list[int]:
    data = ch.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def describe(event: str, fields: dict[str, Any]) -> str:
    """The human line for an event (also used by the demo printer); every field
    is escaped, not only the text."""
    f = {k: escape(v) if isinstance(v, str) else v for k, v in fields.items()}
    event = escape(event)
    name = event.removeprefix("tts.")
    who = f.pop("user", "")
    mid = f.pop("id", "")
    if event == TTS_ACCEPTED:
        f.pop("text", "")
        text = fields.get("text", "")  # repr escapes it the same way, quotes it too
        head = f"{name:9} {f.pop('source', ''):12} {who:16} [{f.pop('priority', '')}]"
        return f"{head} {text!r}" + _rest(f)
    if event == TTS_REJECTED:
        head = f"{name:9} {f.pop('source', '') or '-':12} {who:16} {f.pop('reason', '')}"
        return head + _rest(f)
    return f"{name:9} {mid}" + (f" {who}" if who else "") + _rest(f)


def _rest(fields: dict[str, Any]) -> str:
    parts = [f"{escape(str(k))}={escape(str(v))}" for k, v in fields.items() if v not in (None, "")]
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
