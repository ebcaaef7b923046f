"""Service configuration: every project environment variable a service reads, read once, here.

``DATABASE_URL``   SQLAlchemy URL; default ``sqlite:///<repo>/var/<service>.db``. PostgreSQL:
                   ``postgresql+psycopg://user@host:5432/dbname``.
``JWT_SECRET``     HS256 key shared by users (issues tokens) and the gateway (verifies them). Required
                   unless ``TIENDA_ENV=development``; at least 32 characters; the development fallback
                   is refused anywhere else.
``PRODUCTS_URL`` ``ORDERS_URL`` ``PAYMENTS_URL`` ``USERS_URL``
                   where the other services are; default the local ports of ``docs/architecture.md``.
``REDIS_URL`` ``AMQP_URL``   optional until a feature needs them.
``TIENDA_ENV``     development (default), test or production.

Each service declares its own settings as a frozen dataclass subclassing :class:`Settings`
(``services/<name>/settings.py``), with typed fields for what only it reads, and reads any variable of its
own in :meth:`Settings.read_env`. ``create_app(config)`` lays ``config`` over the environment with
:meth:`Settings.with_overrides`: every key must name a field, so a misspelt key is an error, not a no-op.
The fields every service has include what tests inject into :func:`telemetry.instrument`
(``tracer_provider``, ``registry``, ``log_stream``).

A missing or malformed value raises :class:`telemetry.ConfigError` naming the variable or key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar, Self, TextIO
from urllib.parse import urlsplit

from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from telemetry import ConfigError

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"

#: Accepted only when TIENDA_ENV=development, so a forgotten JWT_SECRET can never reach production.
DEVELOPMENT_JWT_SECRET = "development-only-jwt-secret-do-not-deploy"

DEFAULT_URLS = {
    "PRODUCTS_URL": "http://127.0.0.1:8001",
    "ORDERS_URL": "http://127.0.0.1:8002",
    "PAYMENTS_URL": "http://127.0.0.1:8003",
    "USERS_URL": "http://127.0.0.1:8004",
}


def _url(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip() or DEFAULT_URLS[name]
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name}={value!r} is not an http(s) URL")
    return value.rstrip("/")


def seconds(name: str, value: object, *, zero: bool = False) -> float:
    """``value`` as a number of seconds: an int or float above 0 (at least 0 with ``zero``), never a bool or a
    string. The one duration check of every service's settings; raises :class:`telemetry.ConfigError`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or (value == 0 and not zero):
        bound = ">= 0" if zero else "> 0"
        raise ConfigError(f"{name}={value!r} is not a number of seconds {bound}")
    return float(value)


def env_seconds(env: Mapping[str, str], name: str, *, zero: bool = False) -> dict[str, float]:
    """``{name.lower(): seconds}`` when the variable ``name`` is set in ``env``, else ``{}``: what a
    :meth:`Settings.read_env` returns for a duration variable. A value that is not a number of seconds raises
    :class:`telemetry.ConfigError` naming the variable (see :func:`seconds`)."""
    raw = env.get(name, "").strip()
    if not raw:
        return {}
    value: object
    try:
        value = float(raw)
    except ValueError:
        value = raw  # seconds() names the variable and the bad value
    return {name.lower(): seconds(name, value, zero=zero)}


def positive_int(name: str, value: object) -> int:
    """``value`` when it is an int of at least 1 (not a bool); :class:`telemetry.ConfigError` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}={value!r} is not a positive integer")
    return value


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What every service reads. Subclasses set :attr:`SERVICE` and add their own fields, with defaults."""

    #: The service these settings are for; a subclass names its own.
    SERVICE: ClassVar[str] = ""

    service: str
    environment: str
    database_url: str
    jwt_secret: str = field(repr=False)
    products_url: str
    orders_url: str
    payments_url: str
    users_url: str
    redis_url: str | None = None
    amqp_url: str | None = None
    #: Passed to :func:`telemetry.instrument` (tests capture spans, metrics and log lines with them).
    tracer_provider: TracerProvider | None = field(default=None, repr=False, compare=False)
    registry: CollectorRegistry | None = field(default=None, repr=False, compare=False)
    log_stream: TextIO | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_env(cls, service: str | None = None, env: Mapping[str, str] | None = None) -> Self:
        """The settings of ``service`` (default :attr:`SERVICE`) from ``env`` (default the process's)."""
        env = os.environ if env is None else env
        service = service or cls.SERVICE
        if not service:
            raise ConfigError(f"{cls.__name__} names no service")
        environment = env.get("TIENDA_ENV", "development").strip() or "development"
        if environment not in ("development", "test", "production"):
            raise ConfigError(f"TIENDA_ENV={environment!r} is not one of development, test, production")
        secret = env.get("JWT_SECRET", "")
        if not secret:
            if environment != "development":
                raise ConfigError("JWT_SECRET is required outside development")
            secret = DEVELOPMENT_JWT_SECRET
        elif len(secret) < 32:
            raise ConfigError("JWT_SECRET must be at least 32 characters")
        if secret == DEVELOPMENT_JWT_SECRET and environment != "development":
            raise ConfigError("JWT_SECRET is the development fallback; set a real secret")
        database_url = env.get("DATABASE_URL", "").strip() or f"sqlite:///{VAR / (service + '.db')}"
        if "://" not in database_url:
            raise ConfigError(f"DATABASE_URL={database_url!r} is not a database URL")
        return cls(
            service=service,
            environment=environment,
            database_url=database_url,
            jwt_secret=secret,
            products_url=_url(env, "PRODUCTS_URL"),
            orders_url=_url(env, "ORDERS_URL"),
            payments_url=_url(env, "PAYMENTS_URL"),
            users_url=_url(env, "USERS_URL"),
            redis_url=env.get("REDIS_URL") or None,
            amqp_url=env.get("AMQP_URL") or None,
            **cls.read_env(env),
        )

    @classmethod
    def read_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        """The service's own fields found in ``env``, by field name (a subclass reads its variables here)."""
        return {}

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> Self:
        """These settings with the fields named in ``overrides`` replaced (and checked again).

        Raises :class:`telemetry.ConfigError` naming every key that is not a field.
        """
        if not overrides:
            return self
        names = {f.name for f in fields(self) if f.name != "service"}
        unknown = sorted(str(key) for key in overrides if key not in names)
        if unknown:
            raise ConfigError(f"{type(self).__name__} has no setting {', '.join(unknown)}")
        return replace(self, **overrides)
