# tienda: make up | make test | make load | make bench | make lint
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Dependencies come from the hashed lock files (make lock writes them from pyproject.toml with pip-tools):
# requirements.lock is what the image installs, requirements-test.lock adds the test extra for make test and CI.
# Reinstall whenever pyproject.toml or the lock changes.
LOCK := requirements-test.lock
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) 2>/dev/null | sha1sum | cut -c1-12)
PIP_QUIET := --quiet --disable-pip-version-check
PIP_COMPILE := $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links

.PHONY: install lock image image-test system-tools up test lint bench bench-orders bench-memory bench-scale load clean

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "tienda needs Python >= 3.11 as $(PYTHON)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) --require-hashes -r $(LOCK)
	$(PY) -m pip install $(PIP_QUIET) --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# After editing pyproject.toml's dependencies: pin them again (the runtime lock is held to the test lock's versions).
lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(VENV)/bin/pip-compile || $(PY) -m pip install $(PIP_QUIET) pip-tools
	$(PIP_COMPILE) --extra test -o requirements-test.lock pyproject.toml requirements.in
	$(PIP_COMPILE) -c requirements-test.lock -o requirements.lock pyproject.toml requirements.in

# The one image of docker-compose.yml and deploy/k8s/, with docker or podman, whichever is present.
# Behind a proxy: make image PIP_INDEX_URL=https://... PIP_CA_BUNDLE=/path/to/ca.pem
IMAGE ?= tienda:$(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
ENGINE ?= $(shell command -v docker >/dev/null && docker info >/dev/null 2>&1 && echo docker || echo podman)

comma := ,

image:
	$(ENGINE) build -t $(IMAGE) $(if $(PYTHON_IMAGE_TAG),--build-arg PYTHON_IMAGE_TAG=$(PYTHON_IMAGE_TAG)) \
		$(if $(PIP_INDEX_URL),--build-arg PIP_INDEX_URL=$(PIP_INDEX_URL)) \
		$(if $(PIP_CA_BUNDLE),--secret id=pip_ca$(comma)src=$(PIP_CA_BUNDLE)) .

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

# tests/image builds and runs the image (podman, minutes on a first run): make image-test, beside make test in CI.
# The suite runs on TEST_WORKERS pytest-xdist workers, a test file at a time each (its fixtures stay in one
# process); most of its time is spent waiting on the services it starts, so two workers on two cores take about
# 40 % off it. TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= 2
test: install system-tools
	$(PY) -m pytest --ignore=tests/image -n $(TEST_WORKERS) --dist loadfile

image-test: install system-tools
	$(PY) -m pytest tests/image -q -s

lint: install
	$(PY) -m ruff check telemetry services tests bench loadtest dashboards
	$(PY) -m ruff format --check telemetry services tests bench loadtest dashboards
	$(PY) -m mypy

# The benchmarks' own packages (the "assembled peer" of bench/overhead.py) are the bench extra, installed here only.
BENCH_STAMP := $(VENV)/.bench-$(notdir $(STAMP))
# Without their dependencies, on the locked OpenTelemetry (pyproject.toml says why).
BENCH_EXTRA = $(shell $(PY) -c 'import shlex, tomllib; \
	print(shlex.join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["bench"]))')

bench: install
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	@test -f $(BENCH_STAMP) || { $(PY) -m pip install $(PIP_QUIET) --no-deps $(BENCH_EXTRA) && touch $(BENCH_STAMP); }
	$(PY) bench/overhead.py

# Orders through the gateway on an own shop and OTLP sink, SQLite then the local PostgreSQL (bench/orders.py).
bench-orders: install
	$(PY) bench/orders.py --start --database sqlite,postgres

# Orders/s with one replica of every service and with two, each group behind nginx, on the local PostgreSQL,
# RabbitMQ and Redis (bench/scale.py; nginx as make system-tools installs it).
bench-scale: install system-tools
	$(PY) bench/scale.py

# Every service's RSS under a mixed load on an own shop and sink, 600 s by default (bench/memory.py):
# make bench-memory [DURATION=600]
bench-memory: install
	$(PY) bench/memory.py $(if $(DURATION),--seconds '$(DURATION)')

# Headless Locust against a running shop: make load [HOST=http://127.0.0.1:8080] [USERS=20] [DURATION=60s]
load: install
	$(PY) loadtest/run.py $(if $(HOST),--host '$(HOST)') $(if $(USERS),--users '$(USERS)') $(if $(DURATION),--duration '$(DURATION)')

clean:
	rm -rf $(VENV) var .pytest_cache
