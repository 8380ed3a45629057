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
	$(BIN)/streamlit run serve.py --server.address 127.0.0.1 -- --db $(DB)

# The browser tests drive Debian's Chromium; test tools never download a browser here.
browser:
	@test -x $(CHROMIUM) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# The whole suite on the tests' pinned day, then the date-sensitive tests again on far days (a
# leap day at a month and quarter end, the first of January), so a date bug shows before a user
# meets it.
FAR_DAYS := 2028-02-29 2031-01-01

test: $(VENV)/.installed browser
	$(BIN)/python -m pytest
	for day in $(FAR_DAYS); do FUNNEL_TODAY=$$day $(BIN)/python -m pytest -m dates || exit 1; done

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
