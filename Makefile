# Two entry points: `make demo` (set up, run the main job) and `make test` (set up, run
# every check). Both create .venv themselves; nothing else is needed but Python 3.11,
# git and make.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test check lint typecheck unit system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Development install: the package, its test tools, Playwright (driving system Chromium).
$(VENV)/.stamp-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

demo: $(VENV)/.stamp-dev
	$(BIN)/tether --help
	$(BIN)/tether models

system-deps:
	./scripts/system-deps.sh

lint: $(VENV)/.stamp-dev
	$(BIN)/ruff check src tests bench

typecheck: $(VENV)/.stamp-dev
	$(BIN)/mypy src

unit: $(VENV)/.stamp-dev
	TETHER_STRICT_DEPS=1 $(BIN)/pytest

test: $(VENV)/.stamp-dev system-deps
	$(MAKE) lint typecheck unit

clean:
	rm -rf $(VENV) .tether build src/*.egg-info
