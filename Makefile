# tienda: make up | make test | make load | make bench | make lint
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Reinstall whenever pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml 2>/dev/null | cut -c1-12)
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: install system-tools up test lint bench bench-orders load clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "tienda needs Python >= 3.11 as $(PYTHON)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) --upgrade pip
	$(PY) -m pip install $(PIP_QUIET) -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# The public entry of `make up` is Debian's nginx in front of the gateway (deploy/nginx/).
up: install
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { echo "installing nginx (Debian package)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null; }
	$(PY) -m services.stack

# The stack tests run Debian's promtool/prometheus and docker-compose (it only validates compose files here);
# the slow-client tests run Debian's nginx, the front proxy of `make up`.
SYSTEM_TOOLS := promtool:prometheus docker-compose:docker-compose dot:graphviz nginx:nginx

system-tools:
	@missing=""; for pair in $(SYSTEM_TOOLS); do command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing (Debian packages)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

test: install system-tools
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check telemetry services tests bench loadtest dashboards
	$(PY) -m ruff format --check telemetry services tests bench loadtest dashboards
	$(PY) -m mypy

# The benchmarks' own packages (the "assembled peer" of bench/overhead.py) are the bench extra, installed here only.
BENCH_STAMP := $(VENV)/.bench-$(notdir $(STAMP))

bench: install
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	@test -f $(BENCH_STAMP) || { $(PY) -m pip install $(PIP_QUIET) -e '.[test,bench]' && touch $(BENCH_STAMP); }
	$(PY) bench/overhead.py

# Orders through the gateway on an own shop and OTLP sink, SQLite then the local PostgreSQL (bench/orders.py).
bench-orders: install
	$(PY) bench/orders.py --start --database sqlite,postgres

# Headless Locust against a running shop: make load [HOST=http://127.0.0.1:8080] [USERS=20] [DURATION=60s]
load: install
	$(PY) loadtest/run.py $(if $(HOST),--host '$(HOST)') $(if $(USERS),--users '$(USERS)') $(if $(DURATION),--duration '$(DURATION)')

clean:
	rm -rf $(VENV) var .pytest_cache
