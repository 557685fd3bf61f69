"""Edge-test fixtures: the private PulseAudio server and its recorder.

Fixtures live in :mod:`tests.edge.pulse` (so ``bench/sound.py`` can reuse the
harness); importing them here exposes them to every test in ``tests/edge``.
"""

from tests.edge.pulse import pulse_recorder, pulse_server

__all__ = ["pulse_recorder", "pulse_server"]
