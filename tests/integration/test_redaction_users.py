"""A real failure whose text carries a password hash: the users service on PostgreSQL, its log stream, and the
spans its OTLP exporter sends. The hash must be in none of them."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from services.common.web import wiring
from tests.support.databases import postgres_database
from tests.support.otlp import OtlpReceiver, exporting_to
from tests.support.users import app_factory, log_records

ADA = {"email": "ada@example.com", "password": "correct horse battery", "name": "Ada Lovelace"}


class KeepingReceiver(OtlpReceiver):
    """The test receiver, also keeping every decoded export request whole (event attributes included)."""

    def __init__(self) -> None:
        super().__init__()
        self.exports = []

    def _add(self, request) -> None:
        self.exports.append(request)
        super()._add(request)


@pytest.fixture
def receiver():
    receiver = KeepingReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def users_app(monkeypatch, receiver):
    for name, value in exporting_to(receiver.endpoint).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    for name in (
        "ADMIN_EMAIL",
        "ADMIN_PASSWORD",
        "OTEL_SERVICE_NAME",
        "JWT_SECRET",
        "DATABASE_URL",
        "OTEL_SDK_DISABLED",
    ):
        monkeypatch.delenv(name, raising=False)
    with postgres_database("tienda_test_redaction") as url, app_factory(url) as make:
        yield make


def test_a_database_error_carrying_the_password_hash_reaches_neither_the_log_nor_the_exported_spans(
    users_app, receiver, capfd
):
    app = users_app()  # made after capfd started, so its log lines are captured
    with wiring(app).database.engine.begin() as connection:
        # A column too short for the name: the INSERT fails in PostgreSQL, and SQLAlchemy's error text
        # lists the statement's parameters, the argon2 hash of the password among them.
        connection.execute(text("ALTER TABLE users ALTER COLUMN name TYPE varchar(3)"))

    response = app.test_client().post("/users", json=ADA)
    assert response.status_code == 500
    app.extensions["telemetry"].shutdown()  # flushes the batch span processor
    receiver.wait_for(lambda spans: any(s.kind == "SERVER" and s.name == "POST /users" for s in spans))

    output = capfd.readouterr().out
    (error,) = [r for r in log_records(output) if r["level"] == "ERROR"]
    assert "password_hash': '[REDACTED]'" in error["traceback"]  # the failure text was there, without the hash
    exported = "\n".join(str(request) for request in receiver.exports)
    (server,) = [s for s in receiver.spans if s.kind == "SERVER" and s.name == "POST /users"]
    assert "exception" in server.events and "password_hash" in exported
    for secret in ("$argon2", "argon2id$v=19", ADA["password"]):
        assert secret not in output
        assert secret not in exported
