"""The users service (:8004): ``create_app()`` wires telemetry, the database, the domain and the routes.

Configuration is :class:`~services.users.settings.UserSettings` (``DATABASE_URL``, ``JWT_SECRET``,
``ADMIN_EMAIL``, ...) with ``config`` laid over it; every key of ``config`` must be one of its fields. What was
wired is a :class:`services.common.web.Wiring` at ``app.extensions["tienda"]``.

Nothing happens at import; under gunicorn ``create_app()`` runs in the worker.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

import telemetry
from services.common import access
from services.common.auth import InternalTokens, issue_token
from services.common.db import Database
from services.common.errors import DomainError
from services.common.web import Wiring, attach_database, service_app, wire

from . import api
from .domain import UserEvents, UserService
from .metrics import UserMetrics
from .passwords import Argon2Hasher
from .settings import UserSettings
from .store import SqlUserRepository

SERVICE = UserSettings.SERVICE
MIGRATIONS = Path(__file__).parent / "migrations"


def admin_credentials(overrides: Mapping[str, Any], env: Mapping[str, str]) -> tuple[str, str] | None:
    """(email, password) of the admin ``env`` and ``overrides`` configure, or None when none is configured."""
    return UserSettings.from_env(env=env).with_overrides(overrides).admin()


def build_service(db: Database, settings: UserSettings, events: UserEvents | None = None) -> UserService:
    """The domain over the SQL repository and argon2 (the ``argon2_*`` settings make hashing cheaper)."""
    hasher = Argon2Hasher.from_options(settings.argon2_options())
    return UserService(
        SqlUserRepository(db), hasher, functools.partial(issue_token, secret=settings.jwt_secret), events
    )


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app, tel, settings = service_app(__name__, UserSettings, config)
    admin = settings.admin()
    metrics = UserMetrics(tel.metrics.registry)
    db = attach_database(app, tel, settings, MIGRATIONS)

    service = build_service(db, settings, metrics)
    service.warm_up()
    if admin is not None:
        email, password = admin
        try:
            service.ensure_admin(email, password, verify=True)
        except DomainError as exc:
            db.dispose()
            problems = "".join(f" {d['field']}: {d['message']}." for d in exc.details or ())
            raise telemetry.ConfigError(f"ADMIN_EMAIL/ADMIN_PASSWORD: {exc.message}{problems}") from None

    app.register_blueprint(api.blueprint(service))
    api.openapi().install(app)
    access.install(app, InternalTokens(settings.internal_token_key, settings.service).verify, tel.metrics.registry)
    wire(app, Wiring(settings=settings, telemetry=tel, database=db, service=service, metrics=metrics))
    return app
