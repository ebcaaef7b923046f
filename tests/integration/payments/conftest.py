import pytest

from services.payments.app import create_app
from tests.support.databases import database

#: The environment every payments app of these tests is created in: no span export, INFO logs.
ENV = {
    "TIENDA_ENV": "test",
    "JWT_SECRET": "payments-integration-tests-secret-0123456789",
    "OTEL_TRACES_EXPORTER": "none",
    "LOG_LEVEL": "INFO",
}
UNSET = ("OTEL_SERVICE_NAME", "OTEL_SDK_DISABLED", "DATABASE_URL")


def _apply(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    _apply(monkeypatch)


@pytest.fixture
def make_app(database_url):
    """``make_app(**config)``: a payments app on the test's fresh database; engines disposed afterwards."""
    apps = []

    def make(**config):
        app = create_app({"database_url": database_url, **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["database"].dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared_app(request, tmp_path_factory):
    """One app per backend (SQLite, PostgreSQL) shared by a module's tests that must store nothing.

    Creating a PostgreSQL database takes about a second on a busy server; the long tables of bad
    requests share one instead, and each test checks that the table is still empty.
    """
    with pytest.MonkeyPatch.context() as monkeypatch:
        _apply(monkeypatch)
        with database(request.param, tmp_path_factory.mktemp("payments")) as url:
            app = create_app({"database_url": url})
            yield app
            app.extensions["database"].dispose()
