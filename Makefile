# `make run` and `make test` are the whole set-up on a fresh machine: they create or refresh .venv.
PYTHON ?= $(shell command -v python3.13 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-fast bench schemas screenshots lint typecheck clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else "Python 3.13+ is required (pyenv install 3.13)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/huiying run

test: $(STAMP)
	$(PY) -m pytest -q -p no:randomly

# The domain and the service layers against in-memory fakes: no broker, no database, well under 30 s.
test-fast: $(STAMP)
	$(PY) -m pytest -q -p no:randomly tests/unit

screenshots: $(STAMP)
	HUIYING_SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest -q tests/browser

bench: $(STAMP)
	$(VENV)/bin/huiying bench --spawn -n 500 -c 50

schemas: $(STAMP)
	$(VENV)/bin/huiying schemas

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --config pyproject.toml

typecheck: $(STAMP)
	$(VENV)/bin/mypy shared services huiying

clean:
	rm -rf $(VENV) var *.egg-info
