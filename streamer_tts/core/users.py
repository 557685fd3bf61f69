"""Who sends an event: a chat user and the roles Twitch gives them.

Apart from the events themselves because permissions, limits and nicknames
need only these two, and a role check should not pull in every event class.
`core/events.py` re-exports both.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Role", "User"]


class Role(enum.IntEnum):
    """Chat roles, lowest first: a permission names the lowest role allowed."""

    EVERYONE = 0
    SUBSCRIBER = 1
    VIP = 2
    MODERATOR = 3
    BROADCASTER = 4

    @classmethod
    def parse(cls, name: str) -> Role:
        return cls[name.strip().upper()]

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class User:
    """Who sent it: `login` is Twitch's lowercase login, `name` what is read.

    `external` marks a name from outside Twitch (a donor on a tip page): it is
    no Twitch login, so bans, timeouts and own-skips never match it.
    """

    login: str
    name: str = ""
    roles: frozenset[Role] = frozenset()
    external: bool = False

    def __post_init__(self) -> None:
        login = self.login.strip().lower()
        if not login:
            raise ValueError("user login must not be empty")
        object.__setattr__(self, "login", login)
        if not self.name.strip():
            object.__setattr__(self, "name", login)

    @property
    def role(self) -> Role:
        """The highest role held."""
        return max(self.roles, default=Role.EVERYONE)
