# syntax=docker/dockerfile:1
# One image for every tienda service; docker-compose.yml and deploy/k8s/ pick the service with its command:
#   gunicorn -c gunicorn.conf.py -b 0.0.0.0:<port> 'services.<name>.app:create_app()'
# The health check lives in docker-compose.yml (python + urllib against /health/live: slim has no curl).
# Build: make image (docker or podman). Behind a proxy, pass the index and its CA bundle:
#   make image PIP_INDEX_URL=https://pypi.example/simple PIP_CA_BUNDLE=/etc/ssl/corp-ca.pem
# (a build argument and a secret: the CA bundle never lands in a layer).

# Default = PYTHON_IMAGE_TAG in .env (compose passes that value; tests/compose checks they agree).
ARG PYTHON_IMAGE_TAG=3.11.13-slim-bookworm

# ---- builder: a virtualenv with the dependencies and the project --------------------------------
FROM python:${PYTHON_IMAGE_TAG} AS builder
ARG PIP_INDEX_URL=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
WORKDIR /app

# Dependencies first, in their own layer, from the hashed lock alone: it is rebuilt only when
# requirements.lock changes (make lock), never for the README or the source.
# Wheels only: the runtime stage has no compiler, and neither needs one.
COPY requirements.lock ./
RUN --mount=type=secret,id=pip_ca \
    if [ -n "$PIP_INDEX_URL" ]; then export PIP_INDEX_URL; else unset PIP_INDEX_URL; fi; \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    /opt/venv/bin/pip install --only-binary=:all: --require-hashes --no-deps -r requirements.lock

# The project, installed in place (editable, no index needed: setuptools comes from the lock): the
# services run from /app, where their Alembic migrations are, and importlib.metadata still knows
# tienda's version for service.version. setuptools leaves the venv afterwards.
COPY pyproject.toml README.md gunicorn.conf.py ./
COPY telemetry ./telemetry
COPY services ./services
COPY proto ./proto
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation --no-index -e . \
    && /opt/venv/bin/pip uninstall --yes --quiet setuptools \
    && python -m compileall -q --invalidation-mode unchecked-hash gunicorn.conf.py telemetry services proto \
    && mkdir -p /app/var

# ---- runtime: the venv and the source, nothing else ---------------------------------------------
FROM python:${PYTHON_IMAGE_TAG} AS runtime
# MALLOC_ARENA_MAX: two glibc malloc arenas shared by a worker's threads instead of one per thread, each keeping
# its own high-water mark (services/stack.py says more).
ENV PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    PATH=/opt/venv/bin:$PATH
RUN groupadd --system --gid 10001 tienda \
    && useradd --system --uid 10001 --gid tienda --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin tienda
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
# Files stay root-owned and read-only to the services. The one writable place is /app/var, where
# the SQLite default (no DATABASE_URL) keeps its databases: owned by the service user, and a volume,
# so that it stays writable under a read-only root (docker run --read-only, Kubernetes).
RUN chown tienda:tienda /app/var
VOLUME ["/app/var"]
WORKDIR /app
USER 10001:10001
EXPOSE 8001 8002 8003 8004 8005 8006 8080
CMD ["gunicorn", "-c", "gunicorn.conf.py", "-b", "0.0.0.0:8080", "services.gateway.app:create_app()"]
