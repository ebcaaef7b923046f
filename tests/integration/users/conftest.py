"""Fixtures of the users integration tests: the app on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.support.users import app_factory


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    for name in ("ADMIN_EMAIL", "ADMIN_PASSWORD", "OTEL_SERVICE_NAME", "JWT_SECRET", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_app(database_url):
    """Build users apps on this test's database (SQLite, then PostgreSQL).

    Logs are written to the ``sys.stdout`` of the moment the app is made: a test reading them with
    ``capfd`` makes its app in its body, after capturing started.
    """
    with app_factory(database_url) as make:
        yield make


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """For tests about something other than storage: one SQLite file is enough."""
    return f"sqlite:///{tmp_path / 'users.db'}"


@pytest.fixture
def make_sqlite_app(sqlite_url):
    with app_factory(sqlite_url) as make:
        yield make
