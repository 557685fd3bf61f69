"""What to do at start with the messages a previous run left behind.

Pure: the journal's lists in, a plan out; the caller applies it (journal
first, then the queue), so the policy is tested without a file or a loop.

* Pending messages were never heard: all are queued again.
* Interrupted ones (left `playing` by a crash) were partly heard. A paid one
  is always read again from the start: money is owed a whole reading. A free
  one is dropped (reason ``restart``) unless `replay_interrupted_free`.
* Replayed interrupted messages go first at the head of their level, as an
  interrupted message does while running (`Admission.requeue`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..core.decisions import Message

__all__ = ["RESTART_REASON", "RestorePlan", "plan_restore"]

RESTART_REASON = "restart"


@dataclass(frozen=True, slots=True)
class RestorePlan:
    """`requeue` in play order (ignoring aging); `rewind` the ids among them
    to move back to pending in the journal; `drop` those to mark dropped with
    :data:`RESTART_REASON`."""

    requeue: tuple[Message, ...]
    rewind: tuple[str, ...]
    drop: tuple[Message, ...]


def plan_restore(
    pending: Sequence[Message],
    interrupted: Sequence[Message],
    *,
    now: float,
    wall_now_s: float,
    replay_interrupted_free: bool = False,
) -> RestorePlan:
    """Plan the restore of `Journal.pending()` and `Journal.interrupted()`.

    The journal hands messages back with `enqueued_at` on the wall clock;
    each copy here gets ``enqueued_at = now - time waited so far`` on the
    caller's clock (`now`), so aging carries on where it was (downtime
    counts: those viewers waited). `seq` is renumbered ``-n .. -1`` in
    acceptance order, interrupted first, so restored messages keep their
    order and sort before anything a fresh `Admission` numbers (from 1).
    """
    drop = [m for m in interrupted if not (m.paid or replay_interrupted_free)]
    replayed = [m for m in interrupted if m.paid or replay_interrupted_free]
    ids = {m.id for m in interrupted}
    # Per level, the journal's order is the truth: replayed first, then pending.
    ordered = replayed + [m for m in pending if m.id not in ids]
    # Across levels only aging tie-breaks compare seqs: use acceptance time.
    first = len(replayed)
    by_time = sorted(range(len(ordered)), key=lambda i: (i >= first, ordered[i].enqueued_at, i))
    n = len(ordered)
    seq_of = {i: k - n for k, i in enumerate(by_time)}
    restored: list[Message] = []
    for level in sorted({m.priority for m in ordered}, reverse=True):
        members = [i for i, m in enumerate(ordered) if m.priority == level]
        seqs = sorted(seq_of[i] for i in members)
        for i, seq in zip(members, seqs, strict=True):
            m = ordered[i]
            waited_s = max(0.0, wall_now_s - m.enqueued_at)
            restored.append(replace(m, seq=seq, enqueued_at=now - waited_s, meta=dict(m.meta)))
    rewind = tuple(m.id for m in replayed)
    return RestorePlan(tuple(restored), rewind, tuple(drop))
