"""The Flask app every service starts from: telemetry, JSON error mapping, body limit, JSON settings."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

import telemetry

from . import errors
from .db import Database, instrument_engine, migrate
from .settings import Settings

MAX_BODY_BYTES = 64 * 1024
#: ``create_app(config)`` keys passed on to :func:`telemetry.instrument`: tests inject an in-memory tracer
#: provider, a fresh metrics registry or a log stream this way.
INSTRUMENT_OVERRIDES = ("tracer_provider", "registry", "log_stream")


def service_app(import_name: str, settings: Settings) -> tuple[Flask, telemetry.Telemetry]:
    """A new instrumented Flask app for ``settings.service`` and its telemetry handle."""
    app = Flask(import_name)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    overrides = {key: settings.extra[key] for key in INSTRUMENT_OVERRIDES if key in settings.extra}
    tel = telemetry.instrument(app, service_name=settings.service, **overrides)
    errors.install(app)
    return app, tel


def attach_database(app: Flask, tel: telemetry.Telemetry, settings: Settings, migrations_dir: Path) -> Database:
    """Open the service's database: DB spans on, migrations applied, readiness check "database" registered.

    The :class:`Database` is kept at ``app.extensions["database"]``.
    """
    db = Database(settings.database_url)
    instrument_engine(db.engine, tel.tracer_provider)
    migrate(db.engine, settings.service, migrations_dir)
    telemetry.health.register("database", db.check, app=app)
    app.extensions["database"] = db
    return db
