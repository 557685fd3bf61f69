"""Suite-wide: figures tests report (e.g. the crash test's counts) are printed
in the closing summary, so `make test` shows them without `-s`."""

from __future__ import annotations

from collections.abc import Callable

import pytest

_lines: list[str] = []


@pytest.fixture
def report() -> Callable[[str], None]:
    """Call with one line; it appears at the end of the run."""
    return _lines.append


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _lines:
        terminalreporter.section("figures")
        for line in _lines:
            terminalreporter.write_line(line)
