# Two commands matter: `make run` and `make test`. Everything else is a step they share.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB ?= data/funnel.db
CHROMIUM := /usr/bin/chromium

.PHONY: run test lint bench demo browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

$(DB): | $(VENV)/.installed
	$(BIN)/python -m funnel demo --db $(DB)

run: $(VENV)/.installed $(DB)
	$(BIN)/streamlit run app.py --server.address 127.0.0.1 -- --db $(DB)

# The browser tests drive Debian's Chromium; test tools never download a browser here.
browser:
	@test -x $(CHROMIUM) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

test: $(VENV)/.installed browser
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks

demo: $(VENV)/.installed
	$(BIN)/python -m funnel demo --db $(DB) --force

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
