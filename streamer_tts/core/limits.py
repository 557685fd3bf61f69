"""Rate-limit policy: per user (with per-role overrides) and global.

The core never reads a clock or touches aiolimiter: it asks a `RateGate`
built by an injected factory, passing `now`. The daemon's gates wrap
aiolimiter (`streamer_tts.limiter`); tests use a fake gate fed by `now`.
The per-user registry is an LRU with a hard bound, so a raid of a million
distinct chatters cannot grow memory without limit.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .decisions import Reason
from .events import Role, User

__all__ = [
    "MAX_TRACKED_USERS",
    "GateFactory",
    "LimitPolicy",
    "Limits",
    "RateGate",
    "RateSpec",
]

# Enough for every active chatter of a very large channel in a limit window;
# an evicted user simply starts with a fresh allowance.
MAX_TRACKED_USERS = 20_000


@dataclass(frozen=True, slots=True)
class RateSpec:
    """At most `rate` messages in any `per_seconds` window (burst allowed)."""

    rate: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.rate < 1 or self.per_seconds <= 0:
            raise ValueError("a rate needs rate >= 1 and per_seconds > 0")


class RateGate(Protocol):
    def has_capacity(self, now: float) -> bool:
        """Whether one unit could be taken at `now`; takes nothing."""
        ...

    def try_acquire(self, now: float) -> bool:
        """Take one unit if there is capacity at `now`; never waits."""
        ...


GateFactory = Callable[[RateSpec], RateGate]


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    """`None` means unlimited: a role override of `None` lifts the user limit."""

    per_user: RateSpec | None = RateSpec(3, 60.0)
    per_role: Mapping[Role, RateSpec | None] = field(
        default_factory=lambda: {Role.MODERATOR: None, Role.BROADCASTER: None}
    )
    global_: RateSpec | None = RateSpec(30, 60.0)
    max_pending_per_user: int | None = 2
    paid_exempt: bool = True
    max_tracked_users: int = MAX_TRACKED_USERS

    def spec_for(self, user: User) -> RateSpec | None:
        """The override of the highest role the user holds that has one."""
        for role in sorted(user.roles, reverse=True):
            if role in self.per_role:
                return self.per_role[role]
        return self.per_user


class Limits:
    """Per-user and global gates; decides `rate_limited` for one event."""

    def __init__(self, policy: LimitPolicy, gate_factory: GateFactory) -> None:
        self.policy = policy
        self._factory = gate_factory
        self._global = gate_factory(policy.global_) if policy.global_ else None
        self._users: OrderedDict[tuple[str, RateSpec], RateGate] = OrderedDict()

    def __len__(self) -> int:
        return len(self._users)

    def exempt(self, paid: bool) -> bool:
        return paid and self.policy.paid_exempt

    def check(self, user: User, now: float) -> Reason | None:
        """Take one unit from the user's gate and one from the global gate.

        The global gate is looked at first: in a flood it is empty, and then
        no user's allowance is spent and no per-user gate is even created.
        """
        glob = self._global
        if glob is not None and not glob.has_capacity(now):
            return Reason.RATE_LIMITED
        spec = self.policy.spec_for(user)
        if spec is not None and not self._user_gate(user.login, spec).try_acquire(now):
            return Reason.RATE_LIMITED
        if glob is not None and not glob.try_acquire(now):
            return Reason.RATE_LIMITED  # pragma: no cover - checked just above
        return None

    def _user_gate(self, login: str, spec: RateSpec) -> RateGate:
        key = (login, spec)
        gate = self._users.get(key)
        if gate is None:
            gate = self._users[key] = self._factory(spec)
            if len(self._users) > self.policy.max_tracked_users:
                self._users.popitem(last=False)
        else:
            self._users.move_to_end(key)
        return gate
