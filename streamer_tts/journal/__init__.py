"""The journal: accepted messages on disk until heard, bans, recent history."""

from .restore import RESTART_REASON, RestorePlan, plan_restore
from .store import (
    HISTORY_MAX,
    Entry,
    Journal,
    JournalError,
    JournalStateError,
    State,
)

__all__ = [
    "HISTORY_MAX",
    "RESTART_REASON",
    "Entry",
    "Journal",
    "JournalError",
    "JournalStateError",
    "RestorePlan",
    "State",
    "plan_restore",
]
