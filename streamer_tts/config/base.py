"""What every config section shares: unknown keys refused, values frozen.

Apart from the sections so each section module can import it without
importing the whole schema.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["PriorityName", "RoleName", "Strict"]

PriorityName = Literal["urgent", "high", "normal", "low"]
RoleName = Literal["broadcaster", "moderator", "vip", "subscriber", "everyone"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
