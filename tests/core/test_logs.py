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
