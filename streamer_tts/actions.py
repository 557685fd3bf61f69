"""Carrying out what the playback decided, for the conductor's turn.

The playback (pure) answers each input with actions; this sorts them: journal
records and reports are collected for the announcer (written first, announced
once durable), a requeue goes back to admission, anything else is audio and
goes to the player, which returns at once. The flood switch's report is built
here too, beside the playback's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .core import playback as pb

if TYPE_CHECKING:
    from .audio.player import Player
    from .core import records
    from .core.admission import Admission

__all__ = ["carry_out", "flood_report"]


def carry_out(
    actions: list[pb.Action],
    admission: Admission,
    player: Player,
    ops: list[records.Op],
    reports: list[pb.Report],
) -> None:
    """Do `actions` in order; the records go to `ops`, the reports to `reports`."""
    for a in actions:
        if isinstance(a, pb.Record):
            ops.append(a.op)
        elif isinstance(a, pb.Report):
            reports.append(a)
        elif isinstance(a, pb.Requeue):
            admission.requeue(a.message)
        else:
            player.do(a)  # audio: returns at once


def flood_report(admission: Admission, on: bool) -> pb.Report:
    """The report of the flood switch turning on (with its threshold) or off."""
    waiting = admission.queue.free_waiting()
    if on:
        threshold = admission.rules.flood_threshold
        return pb.Report(pb.Note.FLOOD_ON, {"waiting": waiting, "threshold": threshold})
    return pb.Report(pb.Note.FLOOD_OFF, {"waiting": waiting})
