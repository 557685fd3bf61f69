"""The bounded priority queue of accepted messages.

Two FIFO deques per priority level, paid and free (so the eviction victim,
the newest free message, is found in O(1) however many paid ones wait). A
message's *effective* priority rises by one level for every `aging_seconds` it
has waited, so a low message is never starved forever; inside a level the
oldest goes first. Aging lifts a free message among free ones only: against a
paid message it counts at its base level, so money is never passed by a free
message that merely waited. When full, an arrival evicts the newest free
message of the lowest level below it; a paid message is never evicted, and
paid arrivals may overflow the free bound (up to a hard cap) rather than be
lost.

A message whose `ready_at` is still ahead (a moderator's hold) waits in its
place but is passed over by `peek` and `pop` until then; `next_ready` says
when the earliest hold ends, so the caller can wake up then.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from .decisions import Message, Priority

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["MAX_PAID_OVERFLOW", "MessageQueue"]

# Paid messages are never rejected for room until this many wait beyond the
# free bound: hours of speech, far past any real stream, but still a bound.
MAX_PAID_OVERFLOW = 5_000

_LEVELS = tuple(Priority)


class MessageQueue:
    def __init__(self, max_size: int = 100, aging_seconds: float | None = 120.0) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.max_size = max_size
        self.aging_seconds = aging_seconds
        self._paid: dict[Priority, deque[Message]] = {p: deque() for p in _LEVELS}
        self._free: dict[Priority, deque[Message]] = {p: deque() for p in _LEVELS}
        self._by_id: dict[str, Message] = {}
        self._per_user: dict[str, int] = {}

    # --- reading -------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._by_id

    def __iter__(self) -> Iterator[Message]:
        """Every waiting message, highest base level first (not play order)."""
        for level in reversed(_LEVELS):
            yield from sorted((*self._paid[level], *self._free[level]), key=lambda m: m.seq)

    def get(self, message_id: str) -> Message | None:
        return self._by_id.get(message_id)

    def free_waiting(self) -> int:
        """Free messages waiting (held by a hold or not)."""
        return sum(len(d) for d in self._free.values())

    def pending_for(self, login: str) -> int:
        """Free messages of this user waiting (paid ones never count)."""
        return self._per_user.get(login, 0)

    def depth(self) -> dict[Priority, int]:
        return {p: len(self._paid[p]) + len(self._free[p]) for p in _LEVELS}

    def effective(self, message: Message, now: float) -> Priority:
        """The base level raised one step per `aging_seconds` waited."""
        if not self.aging_seconds:
            return message.priority
        steps = int(max(0.0, now - message.enqueued_at) // self.aging_seconds)
        return Priority(min(Priority.URGENT, message.priority + steps))

    def peek(self, now: float) -> Message | None:
        paid = self._best(self._paid, now)
        free = self._best(self._free, now)
        if paid is None or free is None:
            return paid or free
        return free if self._free_first(free, paid, now) else paid

    def next_ready(self, now: float) -> float | None:
        """When the earliest hold still running ends (None: nothing held)."""
        ends = [m.ready_at for m in self._by_id.values() if m.ready_at > now]
        return min(ends) if ends else None

    def snapshot(self, now: float) -> list[Message]:
        """Waiting messages in the order they would play if nothing changed:
        the paid and the free orders, merged as `peek` merges their heads."""

        def order(streams: dict[Priority, deque[Message]]) -> list[Message]:
            waiting = [m for level in _LEVELS for m in streams[level]]
            return sorted(waiting, key=lambda m: (-self.effective(m, now), m.seq))

        paid, free = order(self._paid), order(self._free)
        merged: list[Message] = []
        i = j = 0
        while i < len(paid) and j < len(free):
            if self._free_first(free[j], paid[i], now):
                merged.append(free[j])
                j += 1
            else:
                merged.append(paid[i])
                i += 1
        return merged + paid[i:] + free[j:]

    # --- changing ------------------------------------------------------------

    def offer(self, message: Message) -> tuple[bool, Message | None]:
        """Try to add; returns (admitted, evicted message or None)."""
        evicted: Message | None = None
        if len(self) >= self.max_size:
            evicted = self._victim_for(message)
            if evicted is not None:
                self.remove(evicted.id)
            elif not message.paid or len(self) >= self.max_size + MAX_PAID_OVERFLOW:
                return False, None
        self._index(message)
        self._deque(message).append(message)
        return True, evicted

    def restore(self, message: Message) -> None:
        """Append a message accepted by a previous run, bypassing the bound."""
        self._index(message)
        self._deque(message).append(message)

    def push_front(self, message: Message) -> None:
        """Put an interrupted message back at the head of its level."""
        self._index(message)
        self._deque(message).appendleft(message)

    def pop(self, now: float) -> Message | None:
        message = self.peek(now)
        if message is not None:
            self._deque(message).remove(message)
            self._unindex(message)
        return message

    def remove(self, message_id: str) -> Message | None:
        message = self._by_id.get(message_id)
        if message is not None:
            self._deque(message).remove(message)
            self._unindex(message)
        return message

    # --- inside --------------------------------------------------------------

    def _victim_for(self, arrival: Message) -> Message | None:
        """Newest free message of the lowest level below the arrival's.

        A paid arrival may evict a free message of any level: money first.
        """
        for level in _LEVELS:
            if level >= arrival.priority and not arrival.paid:
                return None
            if self._free[level]:
                return self._free[level][-1]
        return None

    def _deque(self, message: Message) -> deque[Message]:
        return (self._paid if message.paid else self._free)[message.priority]

    def _best(self, streams: dict[Priority, deque[Message]], now: float) -> Message | None:
        """The next of one stream (paid or free): highest effective level, then oldest.

        Each deque's first message not held is its oldest ready one, so also
        its most aged: those suffice.
        """
        best: Message | None = None
        best_key: tuple[int, int] | None = None
        for level in _LEVELS:
            head = next((m for m in streams[level] if m.ready_at <= now), None)
            if head is not None:
                key = (self.effective(head, now), -head.seq)
                if best_key is None or key > best_key:
                    best, best_key = head, key
        return best

    def _free_first(self, free: Message, paid: Message, now: float) -> bool:
        """A free message goes before a paid one on its base level alone."""
        return (free.priority, -free.seq) > (self.effective(paid, now), -paid.seq)

    def _index(self, message: Message) -> None:
        if message.id in self._by_id:
            raise ValueError(f"message {message.id!r} is already queued")
        self._by_id[message.id] = message
        if not message.paid:
            self._per_user[message.user] = self._per_user.get(message.user, 0) + 1

    def _unindex(self, message: Message) -> None:
        del self._by_id[message.id]
        if message.paid:
            return
        left = self._per_user[message.user] - 1
        if left:
            self._per_user[message.user] = left
        else:
            del self._per_user[message.user]
