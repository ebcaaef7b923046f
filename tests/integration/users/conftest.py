"""The users service over a real database (SQLite and PostgreSQL, through ``database_url``)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from services.users.app import create_app

JWT_SECRET = "users-integration-tests-secret-" + "x" * 16
#: Argon2 cheap enough for tests; production keeps argon2-cffi's defaults.
CHEAP_HASHING = {"argon2_time_cost": 1, "argon2_memory_cost": 8}


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    for name in ("ADMIN_EMAIL", "ADMIN_PASSWORD", "OTEL_SERVICE_NAME", "JWT_SECRET", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def _app_factory(database_url: str):
    made = []

    def make(**overrides):
        app = create_app({"database_url": database_url, "jwt_secret": JWT_SECRET, **CHEAP_HASHING, **overrides})
        made.append(app)
        return app

    return make, made


@pytest.fixture
def make_app(database_url):
    """Build users apps on this test's database (SQLite, then PostgreSQL).

    Logs are written to the ``sys.stdout`` of the moment the app is made: a test reading them with
    ``capfd`` makes its app in its body, after capturing started.
    """
    make, made = _app_factory(database_url)
    yield make
    for app in made:
        app.extensions["database"].dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """For tests about something other than storage: one SQLite file is enough."""
    return f"sqlite:///{tmp_path / 'users.db'}"


@pytest.fixture
def make_sqlite_app(sqlite_url):
    make, made = _app_factory(sqlite_url)
    yield make
    for app in made:
        app.extensions["database"].dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


def user_rows(app) -> list[dict]:
    with app.extensions["database"].engine.connect() as connection:
        result = connection.execute(text("SELECT id, email, name, role, password_hash FROM users ORDER BY id"))
        return [dict(row) for row in result.mappings()]


def log_records(captured: str) -> list[dict]:
    """The JSON log lines among ``captured`` output."""
    records = []
    for line in captured.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    return records


def sample(app, name: str, labels: dict | None = None) -> float | None:
    return app.extensions["telemetry"].metrics.registry.get_sample_value(name, labels or {})
