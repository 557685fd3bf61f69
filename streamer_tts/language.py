"""The language of a message, for `voices.by_language` (lingua).

Restricted to the configured languages plus English: on chat-length texts
fewer candidates are both faster and more accurate. The models are loaded
once at start, in a thread (about a second); a detection is then well under
a millisecond, cheap enough to make as an event is handed over. Below
`CONFIDENCE_FLOOR` the answer is None: the viewer's default voice reads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable

    from lingua import Language

__all__ = ["CONFIDENCE_FLOOR", "LanguageDetector", "unknown_codes"]

# "ok", "lol" and emote names score about 0.5 in any pair of languages: such
# a message is not worth a voice of another language.
CONFIDENCE_FLOOR: Final = 0.7


def _language(code: str) -> Language:
    from lingua import IsoCode639_1, Language

    return Language.from_iso_code_639_1(IsoCode639_1.from_str(code.strip().lower()))


def unknown_codes(codes: Iterable[str]) -> list[str]:
    """The codes lingua does not know (a config error)."""
    bad = []
    for code in codes:
        try:
            _language(code)
        except ValueError:
            bad.append(code)
    return bad


class LanguageDetector:
    def __init__(self, codes: Iterable[str], *, floor: float = CONFIDENCE_FLOOR) -> None:
        from lingua import Language, LanguageDetectorBuilder

        languages = {_language(c) for c in codes} | {Language.ENGLISH}
        if len(languages) < 2:  # lingua needs two; English alone routes nothing
            languages.add(Language.GERMAN)
        self._detector = (
            LanguageDetectorBuilder.from_languages(*languages)
            .with_preloaded_language_models()
            .build()
        )
        self._floor = floor

    def __call__(self, text: str) -> str | None:
        """The ISO 639-1 code (lowercase) of `text`, or None when unsure."""
        if not text.strip():
            return None
        values = self._detector.compute_language_confidence_values(text)
        if not values or values[0].value < self._floor:
            return None
        return str(values[0].language.iso_code_639_1.name).lower()
