"""One payment reported twice: a cheer arrives in chat and as `channel.cheer`.

Twitch gives the two reports no shared id, so they are matched by the
event's `fingerprint` within a short window. Apart from admission because it
is its own small bounded memory with its own rule.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .events import Incoming

__all__ = ["MAX_PAIR_KEYS", "PAIR_WINDOW_S", "PaymentPairs"]

# The same payment reported by two subscriptions arrives seconds apart.
PAIR_WINDOW_S = 120.0
MAX_PAIR_KEYS = 10_000


class PaymentPairs:
    """The recent reports of payments, by fingerprint, oldest key first."""

    def __init__(self) -> None:
        self._marks: OrderedDict[tuple[object, ...], list[tuple[str, float]]] = OrderedDict()

    def paired(self, event: Incoming, now: float) -> bool:
        """Match a payment against one seen through the *other* subscription.

        Each report can cancel at most one from a different `via`, so two
        genuine identical cheers seen twice each are still read twice.
        """
        key = event.fingerprint
        if key is None or not event.via:
            return False
        marks = [(via, t) for via, t in self._marks.get(key, []) if now - t <= PAIR_WINDOW_S]
        for i, (via, _) in enumerate(marks):
            if via != event.via:
                del marks[i]
                self._marks[key] = marks
                return True
        marks.append((event.via, now))
        self._marks[key] = marks
        self._marks.move_to_end(key)
        if len(self._marks) > MAX_PAIR_KEYS:
            self._marks.popitem(last=False)
        return False
