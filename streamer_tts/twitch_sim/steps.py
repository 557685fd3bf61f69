"""Script steps: each checked before any plays, then played on the simulator.

A step is `{at: seconds, do: action, ...}`; the actions are the simulator's
Python API (`chat`, `cheer`, `sub`, ...). Kept apart from the CLI in
:mod:`.script` so the simulator can play steps without importing its CLI.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .server import TwitchSim

__all__ = ["ScriptError", "play", "validate_script"]


async def play(sim: TwitchSim, script: Sequence[Mapping[str, Any]], *, speed: float = 1.0) -> None:
    """Play script steps at ``at`` seconds divided by ``speed``."""
    steps = validate_script(script)
    start = time.monotonic()
    for step in steps:
        await asyncio.sleep(max(0.0, start + step["at"] / speed - time.monotonic()))
        await _step(sim, step)


async def _step(self: TwitchSim, s: Mapping[str, Any]) -> None:
    """One step, as the simulator's Python API does it."""
    # "user" is required (s["user"]) by every action but the gifts and delete
    user, text, tier = s.get("user"), s.get("text", ""), _tier(s.get("tier", 1))
    match s["do"]:
        case "chat":
            await self.chat(s["user"], text, badges=s.get("badges"), message_id=s.get("message_id"))
        case "cheer":
            await self.cheer(s["user"], int(s["bits"]), text, anonymous=s.get("anonymous", False))
        case "sub":
            await self.sub(s["user"], tier=tier, is_prime=s.get("prime", False))
        case "resub":
            streak, prime = s.get("streak"), s.get("prime", False)
            await self.resub(
                s["user"], int(s["months"]), text, tier=tier, streak=streak, is_prime=prime
            )
        case "gift":
            await self.sub_gift(user, s["to"], tier=tier)
        case "community_gift":
            await self.community_gift(user, int(s["count"]), tier=tier)
        case "raid":
            await self.raid(s["user"], int(s.get("viewers", 10)))
        case "redeem":
            await self.redeem(s["user"], s["reward"], text)
        case "follow":
            await self.follow(s["user"])
        case "delete":
            message_id = s.get("message_id")
            if not message_id and user is not None:
                message_id = self.last_message_of(user)
            if message_id:
                await self.delete_message(message_id)
        case "timeout" | "ban":
            await self.clear_user(s["user"])
        case "clear":
            await self.clear_chat()
        case "reconnect":
            await self.reconnect()
        case "drop":
            await self.drop_sockets()


class ScriptError(ValueError):
    """A script step that cannot be played; the message names the step."""


# action -> (required keys, optional keys); a gift's "user" may be null for an anonymous gifter
_SCRIPT_ARGS: dict[str, tuple[set[str], set[str]]] = {
    "chat": ({"user", "text"}, {"badges", "message_id"}),
    "cheer": ({"user", "bits"}, {"text", "anonymous"}),
    "sub": ({"user"}, {"tier", "prime"}),
    "resub": ({"user", "months"}, {"text", "tier", "streak", "prime"}),
    "gift": ({"to"}, {"user", "tier"}),
    "community_gift": ({"count"}, {"user", "tier"}),
    "raid": ({"user"}, {"viewers"}),
    "redeem": ({"user", "reward"}, {"text"}),
    "follow": ({"user"}, set()),
    "delete": (set(), {"message_id", "user"}),
    "timeout": ({"user"}, {"seconds"}),
    "ban": ({"user"}, {"reason"}),
    "clear": (set(), set()),
    "reconnect": (set(), set()),
    "drop": (set(), set()),
}


def validate_script(script: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check every step before any plays, so a typo fails at load, not mid-demo; sort by ``at``."""
    steps = []
    for i, step in enumerate(script):
        if not isinstance(step, Mapping) or step.get("do") not in _SCRIPT_ARGS:
            raise ScriptError(f"step {i}: 'do' must be one of {', '.join(_SCRIPT_ARGS)}")
        at, required, optional = step.get("at"), *_SCRIPT_ARGS[step["do"]]
        if isinstance(at, bool) or not isinstance(at, int | float) or at < 0:
            raise ScriptError(f"step {i} ({step['do']}): 'at' must be seconds >= 0")
        keys = set(step) - {"at", "do"}
        if missing := required - keys:
            raise ScriptError(f"step {i} ({step['do']}): missing {', '.join(sorted(missing))}")
        if unknown := keys - required - optional:
            raise ScriptError(f"step {i} ({step['do']}): unknown {', '.join(sorted(unknown))}")
        if step["do"] == "delete" and not keys:
            raise ScriptError(f"step {i} (delete): needs message_id or user")
        _tier(step.get("tier", 1), f"step {i} ({step['do']}): ")
        steps.append(dict(step))
    return sorted(steps, key=lambda s: s["at"])


def _tier(value: object, where: str = "") -> str:
    tier = {"1": "1000", "2": "2000", "3": "3000"}.get(str(value), str(value))
    if tier not in ("1000", "2000", "3000"):
        raise ScriptError(f"{where}tier must be 1, 2 or 3, not {value!r}")
    return tier
