"""The users service (:8004): ``create_app()`` wires telemetry, the database, the domain and the routes.

Configuration is ``Settings.from_env("users")`` (``DATABASE_URL``, ``JWT_SECRET``, ``TIENDA_ENV``, ...)
with ``config`` overrides on top. Keys of ``config`` that are not settings fields land in
``settings.extra``; this service reads:

``argon2_time_cost`` ``argon2_memory_cost`` ``argon2_parallelism``
    cheaper password hashing for tests (production keeps argon2-cffi's defaults).
``admin_email`` ``admin_password``
    the first admin (named "Admin"), ensured at start; the environment's ``ADMIN_EMAIL`` and
    ``ADMIN_PASSWORD`` are used when these are absent. The two come together or not at all. An existing
    admin is left alone; an existing ordinary account is promoted only if the password is its own.

Nothing happens at import; under gunicorn ``create_app()`` runs in the worker.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from flask import Flask

import telemetry
from services.common.db import Database
from services.common.errors import DomainError
from services.common.settings import Settings
from services.common.web import attach_database, service_app

from . import api
from .domain import UserService
from .passwords import Argon2Hasher
from .store import SqlUserRepository

SERVICE = "users"
MIGRATIONS = Path(__file__).parent / "migrations"

_ADMIN_VARIABLES = {"admin_email": "ADMIN_EMAIL", "admin_password": "ADMIN_PASSWORD"}


def admin_credentials(extra: Mapping, env: Mapping[str, str]) -> tuple[str, str] | None:
    """(email, password) of the admin to ensure at start, or None when none is configured."""
    values = {
        key: str(extra[key]) if extra.get(key) is not None else env.get(variable, "")
        for key, variable in _ADMIN_VARIABLES.items()
    }
    if not values["admin_email"] and not values["admin_password"]:
        return None
    if not values["admin_email"] or not values["admin_password"]:
        raise telemetry.ConfigError("ADMIN_EMAIL and ADMIN_PASSWORD must be set together")
    return values["admin_email"].strip(), values["admin_password"]


def build_service(db: Database, options: Mapping) -> UserService:
    """The domain over the SQL repository and argon2 (``argon2_*`` options make hashing cheaper)."""
    return UserService(SqlUserRepository(db), Argon2Hasher.from_options(options))


def create_app(config: dict | None = None) -> Flask:
    settings = Settings.from_env(SERVICE).with_overrides(config)
    admin = admin_credentials(settings.extra, os.environ)
    app, tel = service_app(__name__, settings)

    db = attach_database(app, tel, settings, MIGRATIONS)

    service = build_service(db, settings.extra)
    service.warm_up()
    if admin is not None:
        email, password = admin
        try:
            service.ensure_admin(email, password, verify=True)
        except DomainError as exc:
            db.dispose()
            problems = "".join(f" {d['field']}: {d['message']}." for d in exc.details or ())
            raise telemetry.ConfigError(f"ADMIN_EMAIL/ADMIN_PASSWORD: {exc.message}{problems}") from None

    app.extensions[SERVICE] = api.Wiring(service, api.UsersMetrics(tel.metrics.registry), settings.jwt_secret)
    app.register_blueprint(api.bp)
    api.openapi().install(app)
    return app
