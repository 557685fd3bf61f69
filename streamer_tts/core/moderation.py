"""Messages waiting for a moderator's OK, and flood mode: pure decisions.

`Approvals` keeps the messages that need approval out of the queue, in
arrival order (their number, 1 up, is what the dashboard and `!ttsqueue`
show and `!ttsok <n>` names), each with the time its approval runs out.
`Flood` says whether the queue is flooded, with hysteresis so it does not
flap: on above the threshold, off below half of it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from .decisions import Message

__all__ = ["Approvals", "Flood"]


class Approvals:
    def __init__(self) -> None:
        self._held: OrderedDict[str, tuple[Message, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._held

    def __iter__(self) -> Iterator[Message]:
        """Held messages in arrival order (number 1 first)."""
        return (m for m, _ in self._held.values())

    def deadline(self, message_id: str) -> float | None:
        entry = self._held.get(message_id)
        return entry[1] if entry else None

    def hold(self, message: Message, deadline: float) -> None:
        self._held[message.id] = (message, deadline)

    def find(self, target: str) -> Message | None:
        """By id, else by number (1 = the oldest), else the oldest of a login."""
        entry = self._held.get(target)
        if entry is not None:
            return entry[0]
        waiting = list(self)
        if target.isdigit():
            n = int(target)
            return waiting[n - 1] if 1 <= n <= len(waiting) else None
        login = target.lower()
        return next((m for m in waiting if m.user == login), None)

    def take(self, message_id: str) -> Message | None:
        entry = self._held.pop(message_id, None)
        return entry[0] if entry else None

    def take_matching(self, match: Callable[[Message], bool]) -> list[Message]:
        gone = [m for m in self if match(m)]
        for m in gone:
            del self._held[m.id]
        return gone

    def expired(self, now: float) -> list[Message]:
        """Take out those whose approval ran out by `now`."""
        return self.take_matching(lambda m: self._held[m.id][1] <= now)

    def next_deadline(self) -> float | None:
        return min((d for _, d in self._held.values()), default=None)


@dataclass(slots=True)
class Flood:
    """On when more than `threshold` free messages wait; off below half of it."""

    threshold: int
    on: bool = False

    def update(self, free_waiting: int) -> bool | None:
        """The new state if it changed, else None."""
        if not self.on and free_waiting > self.threshold:
            self.on = True
            return True
        if self.on and free_waiting < self.threshold / 2:
            self.on = False
            return False
        return None
