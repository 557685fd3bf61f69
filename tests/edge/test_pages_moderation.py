"""The dashboard's moderation parts in a real headless Chromium: a held
message's countdown, Approve and Reject, and flood mode."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from streamer_tts import logs
from streamer_tts.core.events import ChatTTS, Pause, Resume, Role, User
from tests.edge.api_rig import running_api
from tests.edge.test_pages import browser, by_id, text_of, until

__all__ = ["browser"]  # the fixture, shared with test_pages

pytestmark = pytest.mark.timeout(120)

STREAMER = User("streamer", roles=frozenset({Role.BROADCASTER}))


async def test_dashboard_approve_reject_and_hold_countdown(tmp_path: Path, browser: Any) -> None:
    events: list[dict[str, Any]] = []
    remove = logs.add_listener(events.append)
    sections = {
        "moderation": {"hold_seconds": 60, "approval": {"chat": ["everyone"]}},
        "limits": {"per_user": None, "global": None, "max_pending_per_user": None},
    }
    try:
        async with running_api(tmp_path, **sections) as api:
            await asyncio.to_thread(browser.get, f"{api.url}/dashboard?token={api.token}")
            await until(browser, lambda d: text_of("status")(d) == "connected", "the connection")
            submit = api.daemon.conductor.submit
            sub = User("sam", roles=frozenset({Role.SUBSCRIBER}))
            submit(ChatTTS(id="s1", user=sub, message="held for a minute"))  # no approval
            submit(ChatTTS(id="a1", user=User("alice"), message="approve me"))
            submit(ChatTTS(id="r1", user=User("bob"), message="reject me"))
            await until(browser, lambda d: text_of("held-count")(d) == "2", "the held list")
            await until(browser, lambda d: "held " in text_of("queue")(d), "the countdown")
            assert "held for a minute" in text_of("queue")(browser)
            held = text_of("held")(browser)
            assert "approve me" in held and "reject me" in held, held

            rows = browser.find_elements("css selector", "#held tr")
            assert [r.get_attribute("data-id") for r in rows] == ["a1", "r1"]
            await click(browser, '#held tr[data-id="a1"] button.approve')
            await until(browser, lambda d: text_of("held-count")(d) == "1", "the approval")
            await click(browser, '#held tr[data-id="r1"] button.reject')
            await until(browser, lambda d: text_of("held-count")(d) == "0", "the rejection")
            assert by_id(browser, "held-empty").is_displayed()
            await asyncio.wait_for(_until_event(events, logs.TTS_FINISHED), 20)
    finally:
        remove()
        await asyncio.to_thread(browser.get, "about:blank")
    assert [e["id"] for e in events if e["event"] == logs.TTS_APPROVED] == ["a1"]
    dropped = [(e["id"], e["reason"]) for e in events if e["event"] == logs.TTS_DROPPED]
    assert dropped == [("r1", "rejected")]
    assert [e["id"] for e in events if e["event"] == logs.TTS_STARTED] == ["a1"]  # s1 still held


async def test_dashboard_shows_flood_mode(tmp_path: Path, browser: Any) -> None:
    sections = {
        "queue": {"max_size": 100, "flood_threshold": 2},
        "limits": {"per_user": None, "global": None, "max_pending_per_user": None},
    }
    try:
        async with running_api(tmp_path, **sections) as api:
            await asyncio.to_thread(browser.get, f"{api.url}/dashboard?token={api.token}")
            await until(browser, lambda d: text_of("status")(d) == "connected", "the connection")
            assert not by_id(browser, "flood").is_displayed()
            await api.daemon.conductor.ask(Pause(by=STREAMER))
            for i in range(3):
                api.daemon.conductor.submit(ChatTTS(id=f"f{i}", user=User(f"u{i}"), message="y"))
            await until(browser, lambda d: by_id(d, "flood").is_displayed(), "flood mode")
            await api.daemon.conductor.ask(Resume(by=STREAMER))
            await until(browser, lambda d: not by_id(d, "flood").is_displayed(), "its end")
    finally:
        await asyncio.to_thread(browser.get, "about:blank")


async def click(driver: Any, selector: str) -> None:
    """Find and click in one step inside the page: the list is redrawn on every
    event, so an element found in one call may be gone by the next."""
    script = "const b = document.querySelector(arguments[0]); if (b) b.click(); return !!b;"
    assert await asyncio.to_thread(driver.execute_script, script, selector), selector


async def _until_event(events: list[dict[str, Any]], name: str) -> None:
    while not any(e["event"] == name for e in events):
        await asyncio.sleep(0.05)
