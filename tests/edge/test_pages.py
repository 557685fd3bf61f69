"""The browser pages in a real headless Chromium: the OBS overlay and the dashboard.

The daemon runs in this test's event loop; selenium is blocking, so every
browser call goes through `asyncio.to_thread` and the daemon keeps serving.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streamer_tts import logs
from streamer_tts.api.token import overlay_token
from streamer_tts.config import Config
from streamer_tts.daemon import serve
from tests.fakes.tone_engine import ToneEngine

pytestmark = pytest.mark.timeout(120)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
WAIT_S = 10.0


def _ensure_chromium() -> None:
    if os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER):
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(
            f"needs {CHROMIUM} and {CHROMEDRIVER}: apt-get install chromium chromium-driver"
        )
    cmd = ["apt-get", "install", "-y", "chromium", "chromium-driver"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(cmd, env=env, capture_output=True, timeout=900).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        subprocess.run(cmd, env=env, capture_output=True, timeout=900)
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("apt-get could not install chromium and chromium-driver")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _ensure_chromium()
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="streamer-tts-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,720",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Daemon:
    """The real daemon, restartable on the same port with the same state (and token)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.url = self.token = ""
        self.port = 0
        self.api: Any = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[int] | None = None

    async def start(self) -> None:
        config = Config.model_validate(
            {
                "audio": {"output": "none", "gap_ms": 0},
                "daemon": {"state_dir": str(self.tmp_path / "state")},
                "api": {"port": self.port},
            }
        )
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()

        async def until(daemon: Any) -> None:
            self.token = (self.tmp_path / "state" / "api-token").read_text().strip()
            self.url, self.port, self.api = daemon.api.url, daemon.api.port, daemon.api
            ready.set_result(None)
            await self._stop.wait()

        engine = ToneEngine(seconds_per_char=0.002)
        self._task = asyncio.create_task(serve(config, until=until, twitch=False, engines=[engine]))
        await asyncio.wait_for(ready, 30)

    async def stop(self) -> None:
        if self._task is not None:
            self._stop.set()
            assert await asyncio.wait_for(self._task, 30) == 0
            self._task = None

    async def post(self, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with (
            aiohttp.ClientSession(headers=headers) as http,
            http.post(f"{self.url}/api/{action}", json=body or {}) as r,
        ):
            assert r.status == 200, await r.text()
            return await r.json()


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    d = Daemon(tmp_path)
    await d.start()
    try:
        yield d
    finally:
        await d.stop()


async def until(driver: Any, check: Callable[[Any], Any], what: str) -> Any:
    """Poll `check(driver)` in a thread until it is truthy (the daemon keeps running)."""
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, WAIT_S, poll_frequency=0.1)
    return await asyncio.to_thread(wait.until, check, f"timed out waiting for {what}")


def by_id(driver: Any, element_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def caption(driver: Any) -> tuple[bool, str, str, str]:
    box = by_id(driver, "caption")
    shown = "visible" in (box.get_attribute("class") or "").split()
    return (
        shown,
        by_id(driver, "caption-user").get_attribute("textContent"),
        by_id(driver, "caption-kind").get_attribute("textContent"),
        by_id(driver, "caption-text").get_attribute("textContent"),
    )


def text_of(element_id: str) -> Callable[[Any], str]:
    return lambda d: by_id(d, element_id).get_attribute("textContent")


async def screenshot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert await asyncio.to_thread(driver.save_screenshot, str(ARTIFACTS / name))


async def test_pages_and_assets_need_the_token(daemon: Daemon) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/overlay", "/dashboard", "/static/overlay.css"):
            async with http.get(f"{daemon.url}{path}") as r:
                assert r.status == 401
        q = f"token={daemon.token}"
        async with http.get(f"{daemon.url}/overlay?{q}") as r:
            page = await r.text()
            assert r.status == 200 and r.content_type == "text/html"
            assert f"/static/overlay.css?{q}" in page and "__TOKEN__" not in page
            assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        async with http.get(f"{daemon.url}/static/dashboard.js?{q}") as r:
            assert r.status == 200 and r.content_type == "text/javascript"
        for bad in ("overlay.html", "..%2Fserver.py", "nope.css"):
            async with http.get(f"{daemon.url}/static/{bad}?{q}") as r:
                assert r.status == 404


async def test_overlay_caption_follows_playback_and_survives_a_restart(
    daemon: Daemon, browser: Any
) -> None:
    # the overlay runs on its read-only token, as `make demo` and the README show it
    ov = overlay_token(daemon.token)
    await asyncio.to_thread(browser.get, f"{daemon.url}/overlay?token={ov}")
    await until(
        browser,
        lambda d: d.find_element("tag name", "body").get_attribute("data-connected") == "yes",
        "the overlay's WebSocket",
    )
    bg = await asyncio.to_thread(
        browser.execute_script, "return getComputedStyle(document.body).backgroundColor"
    )
    assert bg == "rgba(0, 0, 0, 0)"  # transparent for OBS
    assert not caption(browser)[0]

    await daemon.post("tts", {"text": "tone 440 3 hello chat"})
    _, user, kind, text = await until(
        browser, lambda d: (c := caption(d))[0] and c, "the caption to appear"
    )
    assert "tone 440 3 hello chat" in text and user and kind == "announcement"
    await asyncio.sleep(0.4)  # let the fade-in finish for the screenshot
    await screenshot(browser, "overlay.png")

    assert (await daemon.post("skip"))["ok"]
    await until(browser, lambda d: not caption(d)[0], "the caption to leave after a skip")

    # the daemon restarts (same port, same token): the page reconnects by itself
    await daemon.stop()
    await until(
        browser,
        lambda d: d.find_element("tag name", "body").get_attribute("data-connected") == "no",
        "the overlay to notice",
    )
    await daemon.start()
    await until(
        browser,
        lambda d: d.find_element("tag name", "body").get_attribute("data-connected") == "yes",
        "the overlay to reconnect",
    )
    await daemon.post("tts", {"text": "tone 550 3 back again"})
    await until(
        browser,
        lambda d: "back again" in caption(d)[3] and caption(d)[0],
        "a caption after the restart",
    )
    await daemon.post("skip")
    await asyncio.to_thread(browser.get, "about:blank")  # closes the WebSocket


async def test_overlay_opened_mid_message_shows_it(daemon: Daemon, browser: Any) -> None:
    """What plays when the page opens comes with the subscription (the overlay
    token may not ask for the queue)."""
    await daemon.post("tts", {"text": "tone 440 4 already playing"})
    await asyncio.sleep(0.3)
    ov = overlay_token(daemon.token)
    await asyncio.to_thread(browser.get, f"{daemon.url}/overlay?token={ov}")
    _, user, kind, text = await until(
        browser, lambda d: (c := caption(d))[0] and c, "the caption of the message playing"
    )
    assert "already playing" in text and user and kind == "announcement"
    await daemon.post("skip")
    await until(browser, lambda d: not caption(d)[0], "the caption to leave after a skip")
    await asyncio.to_thread(browser.get, "about:blank")


async def test_dashboard_skip_queue_rejections_and_ban(daemon: Daemon, browser: Any) -> None:
    events: list[dict[str, Any]] = []
    remove = logs.add_listener(events.append)
    try:
        await asyncio.to_thread(browser.get, f"{daemon.url}/dashboard?token={daemon.token}")
        await until(
            browser, lambda d: text_of("status")(d) == "connected", "the dashboard to connect"
        )
        first = (await daemon.post("tts", {"text": "tone 440 3 first"}))["id"]
        await daemon.post("tts", {"text": "tone 660 3 second"})
        await until(browser, lambda d: "first" in text_of("now-text")(d), "now playing")
        await until(browser, lambda d: text_of("queue-count")(d) == "1", "the queue view")
        row = text_of("queue")(browser)
        assert "second" in row and "announcement" in row, row

        small = await daemon.post("donation", {"donor_name": "Tiny", "amount": 0.5})
        assert small["ok"] is False
        await until(browser, lambda d: "1" in text_of("rejections")(d), "a rejection count")
        assert small["error"] in text_of("rejections")(browser)
        await screenshot(browser, "dashboard.png")

        await asyncio.to_thread(by_id(browser, "skip").click)
        await until(browser, lambda d: "second" in text_of("now-text")(d), "the next message")
        await until(browser, lambda d: text_of("queue-count")(d) == "0", "the queue view to empty")
        skipped = [e for e in events if e["event"] == "tts.skipped"]
        assert [e["id"] for e in skipped] == [first]

        await asyncio.to_thread(by_id(browser, "ban-user").send_keys, "Troll")
        await asyncio.to_thread(by_id(browser, "ban").click)
        await until(browser, lambda d: text_of("result")(d) == "ban Troll: done", "the ban")
        await asyncio.to_thread(by_id(browser, "skip").click)
        await until(browser, lambda d: text_of("now-text")(d) == "nothing", "silence")

        # the recent history lists what ended; Replay reads one again
        await until(browser, lambda d: "first" in text_of("history")(d), "the history")
        buttons = browser.find_elements("css selector", "#history button.replay")
        await asyncio.to_thread(buttons[0].click)
        await until(browser, lambda d: "replay" in text_of("result")(d), "the replay reply")
        assert any(e["event"] == "tts.accepted" and e["id"].startswith("replay:") for e in events)
        # a waiting message has a Remove button
        await daemon.post("pause", {})
        waiting = (await daemon.post("tts", {"text": "tone 500 1 remove me"}))["id"]
        await until(browser, lambda d: "remove me" in text_of("queue")(d), "the waiting row")
        await asyncio.to_thread(browser.find_element("css selector", "#queue button.remove").click)
        await until(browser, lambda d: "remove me" not in text_of("queue")(d), "the removal")
        assert any(e["event"] == "tts.dropped" and e["id"] == waiting for e in events)
        await daemon.post("resume", {})
    finally:
        remove()
        await asyncio.to_thread(browser.get, "about:blank")  # closes the WebSocket


async def test_dashboard_teaches_a_pronunciation(daemon: Daemon, browser: Any) -> None:
    events: list[dict[str, Any]] = []
    remove = logs.add_listener(events.append)
    try:
        await asyncio.to_thread(browser.get, f"{daemon.url}/dashboard?token={daemon.token}")
        await until(
            browser, lambda d: text_of("status")(d) == "connected", "the dashboard to connect"
        )
        await asyncio.to_thread(by_id(browser, "say-term").send_keys, "Tone")
        await asyncio.to_thread(by_id(browser, "say-respelling").send_keys, "[[x]] toan")
        await asyncio.to_thread(by_id(browser, "say").click)
        await until(
            browser, lambda d: text_of("result")(d) == "tone is read as toan", "the say reply"
        )
        await daemon.post("tts", {"text": "tone 440 1 hello"})
        await until(browser, lambda _: any(e["event"] == "tts.started" for e in events), "play")
        started = next(e for e in events if e["event"] == "tts.started")
        assert started["text"] == "toan 440 1 hello"
    finally:
        remove()
        await asyncio.to_thread(browser.get, "about:blank")
