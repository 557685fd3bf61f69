"""What every output reports: the `Output` protocol and its health state.

Shared by the device output (which loses and regains its device) and the
clock-paced ones (which never do), so the daemon can tell systemd when the
speaker is stuck in silence whatever the output is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Final, Protocol

from streamer_tts import logs
from streamer_tts.audio.devices import OutputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from streamer_tts.audio.feed import Feed

__all__ = ["RETRY_FIRST_S", "RETRY_MAX_S", "DeviceHealth", "Health", "Output"]

log = logging.getLogger(__name__)

RETRY_FIRST_S: Final = 0.5
RETRY_MAX_S: Final = 5.0
"""Reopen attempts back off from RETRY_FIRST_S, doubling, to at most this."""


class Output(Protocol):
    """What the player and the daemon need from any output."""

    @property
    def name(self) -> str: ...

    @property
    def healthy(self) -> bool: ...

    def lost_for_s(self) -> float: ...

    def on_health(self, callback: Callable[[bool], None]) -> Callable[[], None]: ...

    def start(self) -> None: ...

    def close(self) -> None: ...


class Health:
    """Lost / healthy state and its subscribers (listeners run on the output's thread)."""

    def __init__(self) -> None:
        self._lost_since: float | None = None
        self._health_listeners: list[Callable[[bool], None]] = []

    @property
    def healthy(self) -> bool:
        """False while the device is lost (not pulling) and not yet restored."""
        return self._lost_since is None

    def lost_for_s(self) -> float:
        """Seconds since the device was lost, or 0 while healthy."""
        since = self._lost_since
        return 0.0 if since is None else time.monotonic() - since

    def on_health(self, callback: Callable[[bool], None]) -> Callable[[], None]:
        """Call ``callback(lost)`` on every change, from the output's own thread
        (forward with ``call_soon_threadsafe``); returns the unsubscribe."""
        self._health_listeners.append(callback)
        return lambda: self._health_listeners.remove(callback)

    def _set_lost(self, lost: bool) -> None:
        self._lost_since = time.monotonic() if lost else None
        for listener in list(self._health_listeners):
            try:
                listener(lost)
            except Exception:
                log.exception("output health listener failed")


class DeviceHealth(Health):
    """Losing and regaining a real device (both device outputs): the feed is
    told, listeners are called, and ``audio.lost`` / ``audio.restored`` are
    logged on the event loop that started the output."""

    _feed: Feed
    _loop: asyncio.AbstractEventLoop | None = None
    wait_for_device: bool = False
    """A device missing at start is waited for (lost, retried), not an error."""
    reopens: int = 0
    """Times the device was reopened after a loss."""
    _retry_s: float = RETRY_FIRST_S
    _next_try: float = 0.0

    @property
    def name(self) -> str:
        raise NotImplementedError

    def _open(self) -> None:
        """Open the device and start it; raises :class:`OutputError`."""
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError

    def _open_first(self) -> bool:
        """Open at start. A missing device is an error, unless `wait_for_device`:
        then it is lost and tried again at once. Returns whether it opened."""
        try:
            self._open()
        except OutputError as exc:
            if not self.wait_for_device:
                raise
            self._lose(str(exc))  # unplugged at boot, no sound server yet: retried
            self._next_try = 0.0
            return False
        return True

    def _reopen_when_due(self) -> None:
        """While lost: open again once the backoff allows, and restore on success."""
        if time.monotonic() < self._next_try:
            return
        try:
            self._open()
        except OutputError as exc:
            log.debug("reopening %s failed: %s", self.name, exc)
            self._next_try = time.monotonic() + self._retry_s
            self._retry_s = min(self._retry_s * 2, RETRY_MAX_S)
        else:
            self._restore()

    def _bind_loop(self) -> None:
        """Remember the running event loop (if any): the log listeners live there."""
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    def _emit(self, event: str, **fields: object) -> None:
        loop = self._loop
        if loop is None:
            logs.emit(event, **fields)
        elif not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(lambda: logs.emit(event, **fields))

    def _lose(self, problem: str) -> None:
        self._release()
        self._feed.device_lost()
        self._set_lost(True)
        self._emit(logs.AUDIO_LOST, error=f"{self.name}: {problem}")
        self._retry_s, self._next_try = RETRY_FIRST_S, time.monotonic() + RETRY_FIRST_S

    def _restore(self) -> None:
        after_s = round(self.lost_for_s(), 1)
        self.reopens += 1
        self._feed.device_restored()
        self._set_lost(False)
        self._emit(logs.AUDIO_RESTORED, output=self.name, after_s=after_s)
