"""Fixtures of the payments integration tests: apps on a fresh database per test, or one shared per module.

Their test clients call as the orders service, the one caller of charges, voids and refunds."""

import pytest

from services.common.web import wiring
from services.payments.app import create_app
from tests.support.auth import ORDERS, calling_as
from tests.support.databases import database
from tests.support.payments import apply_environment


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    apply_environment(monkeypatch)


@pytest.fixture
def make_app(database_url):
    """``make_app(**config)``: a payments app on the test's fresh database; engines disposed afterwards."""
    apps = []

    def make(**config):
        app = calling_as(create_app({"database_url": database_url, **config}), ORDERS)
        apps.append(app)
        return app

    yield make
    for app in apps:
        wiring(app).database.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared_app(request, tmp_path_factory):
    """One app per backend (SQLite, PostgreSQL) shared by a module's tests that must store nothing.

    Creating a PostgreSQL database takes about a second on a busy server; the long tables of bad
    requests share one instead, and each test checks that the table is still empty.
    """
    with pytest.MonkeyPatch.context() as monkeypatch:
        apply_environment(monkeypatch)
        with database(request.param, tmp_path_factory.mktemp("payments")) as url:
            app = calling_as(create_app({"database_url": url}), ORDERS)
            yield app
            wiring(app).database.dispose()
