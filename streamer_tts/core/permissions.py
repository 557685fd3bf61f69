"""Who may run which command: each command names the lowest role allowed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .events import Role, User

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DEFAULT_PERMISSIONS", "Permissions"]

DEFAULT_PERMISSIONS: Mapping[str, Role] = {
    "tts": Role.EVERYONE,
    "skip": Role.MODERATOR,
    "clear": Role.MODERATOR,
    "pause": Role.MODERATOR,
    "resume": Role.MODERATOR,
    "queue": Role.EVERYONE,
    "ban": Role.MODERATOR,
    "unban": Role.MODERATOR,
    "remove": Role.MODERATOR,
    "say": Role.MODERATOR,
    "unsay": Role.MODERATOR,
    "nick": Role.MODERATOR,
    "self_nick": Role.EVERYONE,
    "approve": Role.MODERATOR,
    "reject": Role.MODERATOR,
    "voice": Role.EVERYONE,
    "ttsvoice": Role.MODERATOR,
}


@dataclass(frozen=True, slots=True)
class Permissions:
    required: Mapping[str, Role] = field(default_factory=lambda: dict(DEFAULT_PERMISSIONS))

    def allows(self, user: User, command: str) -> bool:
        """The broadcaster may do anything; others need the command's role."""
        if Role.BROADCASTER in user.roles:
            return True
        return user.role >= self.required.get(command, Role.MODERATOR)
