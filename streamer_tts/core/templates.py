"""Message templates (`{user} cheered {bits} bits: {message}`), filled.

Apart from the rules so that the voice choice, which fills the template of
an inline part, need not import the rules that import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["render"]


def render(template: str, values: Mapping[str, object]) -> str:
    """Fill a template, then drop the dangling ": " an empty message leaves."""
    text = template.format_map(values)
    return " ".join(text.split()).strip(" :,;-")
