"""What the systemd watchdog ping vouches for: the daemon works, not only its loop.

The event loop turning proves little: a conductor task that died, or an output
device gone for good, leaves a loop that turns in silence. The ping is sent
only while the one task that decides takes from its inbox (a `Wake` put there
at every check must be taken by the next) and the output plays or may still
come back (`audio.restore_timeout_seconds`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .inbox import Wake

if TYPE_CHECKING:
    from collections.abc import Callable

    from .inbox import Inbox

__all__ = ["Health"]


class Health:
    """A predicate for `systemd.watchdog_loop`, called once per ping period."""

    def __init__(
        self,
        inbox: Inbox,
        submit: Callable[[object], bool],
        output_ok: Callable[[], bool],
    ) -> None:
        self._inbox = inbox
        self._submit = submit
        self._output_ok = output_ok
        self._seen: int | None = None  # inbox.taken at the last check

    def __call__(self) -> bool:
        taken = self._inbox.taken
        deciding = self._seen is None or taken != self._seen
        self._seen = taken
        self._submit(Wake())  # taken by the next check, if the conductor lives
        return deciding and self._output_ok()
