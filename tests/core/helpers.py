"""Builders for core tests."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import TYPE_CHECKING

from streamer_tts.core.decisions import Message, Priority
from streamer_tts.core.events import Role, Source, User
from streamer_tts.core.rules import Rules
from tests.fakes.gates import FakeGate

if TYPE_CHECKING:
    from streamer_tts.core.admission import Admission

_ids = itertools.count(1)


def user(login: str = "alice", *roles: Role) -> User:
    return User(login, login.title(), frozenset(roles))


def next_id(prefix: str = "e") -> str:
    return f"{prefix}{next(_ids)}"


def admission(rules: Rules | None = None, **changes: object) -> Admission:
    from streamer_tts.core.admission import Admission

    rules = rules or Rules()
    if changes:
        rules = replace(rules, **changes)
    return Admission(rules, FakeGate)


def message(
    id: str,
    priority: Priority = Priority.NORMAL,
    *,
    seq: int = 0,
    at: float = 0.0,
    paid: bool = False,
    login: str = "u",
) -> Message:
    return Message(
        id=id,
        source=Source.CHAT,
        user=login,
        name=login,
        priority=priority,
        text=id,
        text_bare=id,
        paid=paid,
        seq=seq,
        enqueued_at=at,
    )
