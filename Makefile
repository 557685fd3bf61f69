# streamer-tts: the verbs a developer, CI and the streamer use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= config.yaml
# portaudio19-dev: PyAudio compiles against it; pulseaudio(-utils): the
# private sound server the sound tests and benchmarks play into; espeak-ng:
# the espeak engine (and its tests).
SYSTEM_PACKAGES := build-essential portaudio19-dev pulseaudio pulseaudio-utils espeak-ng
# only the browser tests of the overlay and dashboard need these
TEST_PACKAGES := chromium chromium-driver

.PHONY: setup demo run test lint fmt bench auth check-config devices clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock scripts/system-deps
	@scripts/system-deps $(SYSTEM_PACKAGES)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "streamer-tts needs Python 3.11 or newer (found $$($(PYTHON) --version))" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
	  { echo "could not create $(VENV): install python3-venv" >&2; exit 1; }
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

demo: setup
	$(BIN)/python bot.py demo

run: setup
	$(BIN)/python bot.py run --config $(CONFIG)

check-config: setup
	$(BIN)/python bot.py check-config --config $(CONFIG)

devices: setup
	$(BIN)/python bot.py devices

auth: setup
	$(BIN)/python bot.py auth --config $(CONFIG)

# the checks first: a type error or a knot fails fast, before the slow suite
test: lint
	@scripts/system-deps $(TEST_PACKAGES)
	$(BIN)/python -m pytest

# pyright: strict on streamer_tts/core, standard elsewhere ([tool.pyright])
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pyright

fmt: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python bench/admission.py
	$(BIN)/python bench/filters.py
	$(BIN)/python bench/sound.py
	$(BIN)/python bench/flood.py
	$(BIN)/python bench/first_audio.py
	$(BIN)/python bench/conductor.py
	$(BIN)/python bench/dropouts.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
