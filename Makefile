# `make run` and `make test` are the whole set-up on a fresh machine: they create or refresh .venv.
PYTHON ?= $(shell command -v python3.13 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-fast bench chaos prereqs schemas screenshots lint typecheck clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else "Python 3.13+ is required (pyenv install 3.13)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	@echo "make run: the command is $(VENV)/bin/huiying (or \`. $(VENV)/bin/activate\` and then huiying)"
	$(VENV)/bin/huiying run

# What the tests need on this machine (chromium, a CJK font, RabbitMQ): checked, and installed or started
# where this user can; otherwise one line says what to install and the tests that can run, run.
prereqs: $(STAMP)
	@$(VENV)/bin/huiying doctor --fix || echo "make prereqs: RabbitMQ is needed by most tests (see the line above)"

test: $(STAMP) prereqs
	$(PY) -m pytest -q -p no:randomly -rs

# The chaos suite: 1,000 requests per fault on a private RabbitMQ node, then on a private 3-node cluster.
chaos: $(STAMP)
	$(VENV)/bin/huiying chaos -n 1000 --rate 20
	$(VENV)/bin/huiying chaos -n 1000 --rate 20 --replicas 3 --fault replica-killed
	$(VENV)/bin/huiying chaos -n 1000 --rate 20 --nodes 3

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
