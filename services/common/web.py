"""The Flask app every service starts from: telemetry, JSON error mapping, body limit, JSON settings."""

from __future__ import annotations

from flask import Flask

import telemetry

from . import errors

MAX_BODY_BYTES = 64 * 1024


def service_app(import_name: str, service: str, **instrument_kwargs) -> tuple[Flask, telemetry.Telemetry]:
    """A new instrumented Flask app for ``service`` and its telemetry handle."""
    app = Flask(import_name)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    tel = telemetry.instrument(app, service_name=service, **instrument_kwargs)
    errors.install(app)
    return app, tel
