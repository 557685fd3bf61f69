"""The event log: JSON lines with ts and event, text for people, redaction."""

from __future__ import annotations

import io
import json
import logging
import re

from streamer_tts import logs


def test_json_lines_and_redaction() -> None:
    out = io.StringIO()
    logs.setup_logging(format="json", stream=out, secrets=["hunter2-secret"])
    logs.emit(
        logs.TTS_ACCEPTED,
        id="m1",
        source="chat",
        user="alice",
        priority="low",
        text="my password is hunter2-secret",
    )
    logging.getLogger("twitchio").warning("token hunter2-secret leaked?")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["event"] == "tts.accepted" and lines[0]["user"] == "alice"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", lines[0]["ts"])
    assert "hunter2-secret" not in out.getvalue()
    assert lines[1]["event"] == "log" and lines[1]["level"] == "warning"


def test_text_is_one_readable_line() -> None:
    out = io.StringIO()
    logs.setup_logging(format="text", stream=out)
    logs.emit(logs.TTS_REJECTED, source="chat", user="spammy", reason="rate_limited")
    line = out.getvalue().strip()
    assert "\n" not in line and "rejected" in line and "rate_limited" in line


def test_listener_receives_events() -> None:
    seen: list[dict] = []
    remove = logs.add_listener(seen.append)
    logs.emit(logs.BOT_READY)
    remove()
    logs.emit(logs.BOT_READY)
    assert seen == [{"event": "bot.ready"}]


HOSTILE = "\x1b[2J\x1b]0;pwned\x07Eve\u202egnp.exe\u2028next\x9b31m\x00"


def _assert_harmless(line: str) -> None:
    for ch in line:
        assert ch.isprintable(), f"raw {ch!r} in {line!r}"


def test_text_log_escapes_every_field() -> None:
    out = io.StringIO()
    logs.setup_logging(format="text", stream=out)
    logs.emit(
        logs.TTS_ACCEPTED, id="api:1", source="api", user=HOSTILE, priority="high", text=HOSTILE
    )
    logs.emit(logs.TTS_REJECTED, source="api", user=HOSTILE, reason="empty", detail=HOSTILE)
    logs.emit(logs.TTS_SKIPPED, id=HOSTILE, by=HOSTILE)
    logs.emit("api.odd\x1b[H", **{"key\x1b": HOSTILE})
    logging.getLogger("twitchio").warning("payload from %s", HOSTILE)
    lines = out.getvalue().splitlines()
    assert len(lines) == 5, lines  # no field started a line of its own
    for line in lines:
        _assert_harmless(line)
        assert "Eve" in line or "payload" in line or "odd" in line
    assert "\\x1b[2J" in lines[0] and "\\u202e" in lines[0]


def test_text_log_escapes_a_traceback() -> None:
    out = io.StringIO()
    logs.setup_logging(format="text", stream=out)
    try:
        raise ValueError(HOSTILE)
    except ValueError:
        logging.getLogger("x").exception("failed for %s", HOSTILE)
    for line in out.getvalue().splitlines():
        _assert_harmless(line)
    assert "Traceback" in out.getvalue()


def test_json_log_escapes_c1_and_bidi_and_reads_back() -> None:
    out = io.StringIO()
    logs.setup_logging(format="json", stream=out)
    logs.emit(logs.TTS_REJECTED, source="api", user=HOSTILE, reason="empty")
    (line,) = out.getvalue().splitlines()
    _assert_harmless(line)
    assert json.loads(line)["user"] == HOSTILE  # same value, only written safely
