# One image for every tienda service; docker-compose.yml picks the service with its command:
#   gunicorn -c gunicorn.conf.py -b 0.0.0.0:<port> 'services.<name>.app:create_app()'
# The health check lives in docker-compose.yml (python + urllib against /health/live: slim has no curl).

# Default = PYTHON_IMAGE_TAG in .env (compose passes that value; tests/compose checks they agree).
ARG PYTHON_IMAGE_TAG=3.11.13-slim-bookworm

# ---- builder: a virtualenv with the dependencies and the project --------------------------------
FROM python:${PYTHON_IMAGE_TAG} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
# Wheels only: the runtime stage has no compiler, and neither needs one.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && /opt/venv/bin/pip install --only-binary=:all: -r /tmp/requirements.txt

# The project, installed in place (editable): the services run from /app, where their Alembic
# migrations are, and importlib.metadata still knows tienda's version for service.version.
COPY gunicorn.conf.py ./
COPY telemetry ./telemetry
COPY services ./services
RUN /opt/venv/bin/pip install --no-deps -e . \
    && python -m compileall -q --invalidation-mode unchecked-hash gunicorn.conf.py telemetry services

# ---- runtime: the venv and the source, nothing else ---------------------------------------------
FROM python:${PYTHON_IMAGE_TAG} AS runtime
ENV PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH
RUN groupadd --system --gid 10001 tienda \
    && useradd --system --uid 10001 --gid tienda --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin tienda
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
WORKDIR /app
# Files stay root-owned and read-only to the services.
USER 10001:10001
EXPOSE 8001 8002 8003 8004 8080
CMD ["gunicorn", "-c", "gunicorn.conf.py", "-b", "0.0.0.0:8080", "services.gateway.app:create_app()"]
