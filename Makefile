# tienda: make up | make test | make load | make bench | make lint
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Reinstall whenever pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml 2>/dev/null | cut -c1-12)
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: install up test lint bench load clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "tienda needs Python >= 3.11 as $(PYTHON)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) --upgrade pip
	$(PY) -m pip install $(PIP_QUIET) -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

up: install
	$(PY) -m services.stack

test: install
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check telemetry services tests bench loadtest
	$(PY) -m ruff format --check telemetry services tests bench loadtest

bench: install
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	$(PY) bench/overhead.py

# Headless Locust against a running shop: make load [HOST=http://127.0.0.1:8080] [USERS=20] [DURATION=60s]
load: install
	$(PY) loadtest/run.py $(if $(HOST),--host '$(HOST)') $(if $(USERS),--users '$(USERS)') $(if $(DURATION),--duration '$(DURATION)')

clean:
	rm -rf $(VENV) var .pytest_cache
