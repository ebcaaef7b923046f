"""Service configuration: every project environment variable a service reads, read once, here.

``DATABASE_URL``   SQLAlchemy URL; default ``sqlite:///<repo>/var/<service>.db``. PostgreSQL:
                   ``postgresql+psycopg://user@host:5432/dbname``.
``JWT_SECRET``     HS256 key shared by users (issues tokens) and the gateway (verifies them). Required
                   unless ``TIENDA_ENV=development``; at least 32 characters; the development fallback
                   is refused anywhere else.
``PRODUCTS_URL`` ``ORDERS_URL`` ``PAYMENTS_URL`` ``USERS_URL``
                   where the other services are; default the local ports in docs/architecture.md.
``REDIS_URL`` ``AMQP_URL``   optional until a feature needs them.
``FAULTS``         fault injection spec (empty: none).
``TIENDA_ENV``     development (default), test or production.

A missing or malformed value raises :class:`telemetry.ConfigError` naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

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


@dataclass(frozen=True)
class Settings:
    service: str
    environment: str
    database_url: str
    jwt_secret: str
    products_url: str
    orders_url: str
    payments_url: str
    users_url: str
    redis_url: str | None = None
    amqp_url: str | None = None
    faults: str = ""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
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
            faults=env.get("FAULTS", ""),
        )

    def with_overrides(self, overrides: Mapping | None) -> Settings:
        """Settings with the fields named in ``overrides`` replaced; unknown keys go to ``extra``."""
        if not overrides:
            return self
        known = {k: v for k, v in overrides.items() if k in self.__dataclass_fields__ and k != "extra"}
        extra = {**self.extra, **{k: v for k, v in overrides.items() if k not in known}}
        return replace(self, **known, extra=extra)
