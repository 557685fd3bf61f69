"""sd_notify for a ``Type=notify`` service, in the stdlib.

systemd starts the daemon with ``$NOTIFY_SOCKET`` (a unix datagram socket,
``@`` meaning the abstract namespace) and, with ``WatchdogSec=``,
``$WATCHDOG_USEC``. Outside systemd both are unset and every call here is a
no-op returning False, so the daemon runs the same by hand.

The watchdog ping is sent by a task on the event loop itself: if the loop
is stuck (a blocking call, a busy loop in our code) the pings stop and
systemd kills and restarts the daemon; a thread would keep pinging.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "notify",
    "ready",
    "reloading",
    "status",
    "stopping",
    "watchdog_interval_s",
    "watchdog_loop",
]

log = logging.getLogger(__name__)


def notify(state: str) -> bool:
    """Send one notification (``KEY=VALUE`` lines); True if it was sent.

    Never raises: a lost notification must not stop the daemon (systemd
    notices a missing READY or WATCHDOG by itself).
    """
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    elif not address.startswith("/"):
        log.debug("NOTIFY_SOCKET %r is not a unix socket path: ignored", address)
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as e:
        log.debug("sd_notify %r failed: %s", state.split("\n", 1)[0], e)
        return False
    return True


def ready() -> bool:
    """Start-up is done: systemd now counts the unit as started."""
    return notify("READY=1")


def stopping() -> bool:
    return notify("STOPPING=1")


def reloading() -> bool:
    """A reload (SIGHUP) began; call `ready()` when it is done.

    ``MONOTONIC_USEC`` lets systemd ≥ 253 (``Type=notify-reload``) match this
    message to the reload it asked for; older ones ignore the field.
    """
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify(f"RELOADING=1\nMONOTONIC_USEC={usec}")


def status(text: str) -> bool:
    """One line shown by ``systemctl --user status``."""
    return notify("STATUS=" + " ".join(text.split()))


def watchdog_interval_s() -> float | None:
    """The watchdog timeout systemd expects pings within, or None if it is off.

    ``$WATCHDOG_PID`` names the process that must ping; a child that
    inherited the variables must not.
    """
    raw_usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(raw_usec)
    except ValueError:
        return None
    return usec / 1e6 if usec > 0 else None


async def watchdog_loop(interval_s: float, healthy: Callable[[], bool] = lambda: True) -> None:
    """Ping every ``interval_s / 2`` until cancelled (the margin sd_watchdog_enabled suggests).

    Only while ``healthy()``: a daemon alive but stuck in silence (its sound
    device lost for good) stops pinging, so systemd restarts it.
    """
    period_s = interval_s / 2
    while True:
        if healthy():
            notify("WATCHDOG=1")
        await asyncio.sleep(period_s)
