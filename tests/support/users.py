"""What the users integration tests share: the app factory with cheap password hashing, and readers of the
users table, log lines and metrics."""

from __future__ import annotations

import json
from contextlib import contextmanager

from sqlalchemy import text

from services.common.web import wiring
from services.users.app import create_app
from tests.support.auth import GATEWAY, calling_as

JWT_SECRET = "users-integration-tests-secret-" + "x" * 16

#: Argon2 cheap enough for tests; production keeps argon2-cffi's defaults.
CHEAP_HASHING = {"argon2_time_cost": 1, "argon2_memory_cost": 8}


@contextmanager
def app_factory(database_url: str):
    """``make(**overrides)`` builds users apps on ``database_url``; their engines are disposed on leaving."""
    made = []

    def make(**overrides):
        app = create_app({"database_url": database_url, "jwt_secret": JWT_SECRET, **CHEAP_HASHING, **overrides})
        calling_as(app, GATEWAY)  # registration and login come through the gateway
        made.append(app)
        return app

    yield make
    for app in made:
        wiring(app).database.dispose()


def post_body(client, path: str, body):
    """POST ``body`` to ``path``: bytes as they are (malformed JSON), anything else as JSON."""
    if isinstance(body, bytes):
        return client.post(path, data=body, content_type="application/json")
    return client.post(path, json=body)


def user_rows(app) -> list[dict]:
    with wiring(app).database.engine.connect() as connection:
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
