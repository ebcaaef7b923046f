"""Service configuration: every project environment variable a service reads, read once, here.

``DATABASE_URL``   SQLAlchemy URL; default ``sqlite:///<repo>/var/<service>.db``. PostgreSQL:
                   ``postgresql+psycopg://user@host:5432/dbname``.
``JWT_SECRET``     HS256 key shared by users (issues tokens) and the gateway (verifies them). Required
                   unless ``TIENDA_ENV=development``; at least 32 characters; the development fallback
                   is refused anywhere else.
``INTERNAL_TOKEN_KEY``   HS256 key of the internal tokens every service signs and verifies (service to service,
                   :mod:`services.common.auth`); the same rules as ``JWT_SECRET``, and never equal to it.
``PRODUCTS_URL`` ``ORDERS_URL`` ``PAYMENTS_URL`` ``USERS_URL``
                   where the other services are; default the local ports of ``docs/architecture.md``.
``REDIS_URL`` ``AMQP_URL``   optional until a feature needs them.
``UPSTREAM_MAX_ATTEMPTS`` ``UPSTREAM_RETRY_SECONDS`` ``BREAKER_FAILURE_THRESHOLD`` ``BREAKER_RESET_SECONDS``
``BULKHEAD_MAX_CONCURRENT``
                   the resilience policy of every client to another service (:mod:`telemetry.resilience`):
                   attempts of an idempotent call (default 3) and the time they may take together (2 s),
                   consecutive failures that open an upstream's breaker (5) and how long it stays open (5 s),
                   calls in flight to one upstream (16). Read into :attr:`Settings.resilience`.
``TIENDA_ENV``     development (default), test, demo (compose on a laptop, with the published demo secrets) or
                   production.

With ``TIENDA_ENV=production`` every secret the process is given (:data:`SECRET_MINIMUMS`: ``JWT_SECRET``,
``INTERNAL_TOKEN_KEY``, ``ADMIN_PASSWORD``, and the password inside ``DATABASE_URL``, ``AMQP_URL`` and
``REDIS_URL``) must be long enough and must not be one written anywhere in this repository
(:data:`PUBLISHED_SECRET_FINGERPRINTS`); :func:`check_production_secrets` names the variable it refuses.

Each service declares its own settings as a frozen dataclass subclassing :class:`Settings`
(``services/<name>/settings.py``), with typed fields for what only it reads, and reads any variable of its
own in :meth:`Settings.read_env`. ``create_app(config)`` lays ``config`` over the environment with
:meth:`Settings.with_overrides`: every key must name a field, so a misspelt key is an error, not a no-op.
The fields every service has include what tests inject into :func:`telemetry.instrument`
(``tracer_provider``, ``registry``, ``log_stream``).

A missing or malformed value raises :class:`telemetry.ConfigError` naming the variable or key.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar, Self, TextIO
from urllib.parse import unquote, urlsplit

from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from telemetry import ConfigError
from telemetry.resilience import PolicyConfig

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"

#: Accepted only when TIENDA_ENV=development, so a forgotten JWT_SECRET can never reach production.
DEVELOPMENT_JWT_SECRET = "development-only-jwt-secret-do-not-deploy"
#: The same for INTERNAL_TOKEN_KEY.
DEVELOPMENT_INTERNAL_TOKEN_KEY = "development-only-internal-token-key-do-not-deploy"

ENVIRONMENTS = ("development", "test", "demo", "production")

#: The least length of each secret in production; a URL's embedded password needs :data:`MIN_SECRET_CHARS`.
MIN_SECRET_CHARS = 16
#: The least length of a signing key, in every environment.
MIN_KEY_CHARS = 32
SECRET_MINIMUMS = {"JWT_SECRET": MIN_KEY_CHARS, "INTERNAL_TOKEN_KEY": MIN_KEY_CHARS, "ADMIN_PASSWORD": MIN_SECRET_CHARS}
URL_VARIABLES = ("DATABASE_URL", "AMQP_URL", "REDIS_URL")

#: sha256 (hex) of every secret-looking value of at least MIN_SECRET_CHARS characters published in this repository
#: (.env, docs, tests, the development fallbacks); shorter ones fail the length check first. Kept as fingerprints
#: so that the list stays short and quotes none. tests/unit/security/test_published_secrets.py scans the
#: repository and fails when a published value is missing here; ``python -m tests.support.published_secrets`` adds
#: the missing ones.
PUBLISHED_SECRET_FINGERPRINTS = frozenset(
    {
        "0b0f762b12742984909a724836746bc282fe892b56f2f0cc28ef6169f48a51fd",
        "0d701b715f18674df820b11d8f8072c0c703f51512ff5e05212899bafe009612",
        "177c9fa7b89ff94cb8caa4a138459bfd97716bb2f1359ffd6229b8b68a9354e6",
        "2224718a085a365cb8b0b6a231c9c7fe295b2872ef7ebdb7742ce1382bec557f",
        "3312fc8332ae9001767db0414bb7815ad4b56d07ba4a27a3a9b5bd43d5fd626b",
        "390a5d46473ecd9dcc1a5ce006d197563fa31e0b57c79cca0aaad53044898aea",
        "3923fb8348df77529b04f6f536b8204856d0501d031063de795c57ad693b288f",
        "424f7387bce9c983ce142987c18eaa31edaa6f1deedb3f6364d60820193ea518",
        "445651988f155458a116e197919a23ff9dc07a21ecea6c6409c222a434c9553c",
        "6c7ea9a7518855db101cbbb024a92cb6b09d241193401720b2e8f5adc39c7dec",
        "771e181151c683bcc7f03f55d6e5f540a61ad397f4f98aa8d383122c73680ccc",
        "7b7242a6759d64f6c0c42880c50338a7ffb040c24289a38169e12573abf39dbd",
        "83fea090704e8a68c99e4b9968549b1ca68d73acf4d2ca9d20049ba0cc5b38fd",
        "87c5ad3105ddfcc338e1b5b9dd4d6affb7ea7afb41b8e7ca862ee2051c317958",
        "8f995c65af8f13d684f40f1c816dc713ebcc551e07221086ee7ff72194959862",
        "9028ea0d15decaa35b2da21c0290af3b1a5ba0a30a591906f89b5074e209ea72",
        "9ae82d97eba6f44eca8f6fa322fa2351538acd03fceacf60bbfa78b3090aa190",
        "a1600fc95be98229e99d7129b77ea49e32563d29725c4bc01edfd793ceb2818f",
        "a698b5a69594b147b6a125ee148cec0e08100925a73ec4fb016139a631a6920f",
        "b0d00673fff79fc1326d0b39c2d48a0024ede4b75ad232b707c177e1a91d8eca",
        "b70caf98a0b88056efba308f400615c2a89dde111411f23deda1bb3f667e17d1",
        "b7c89ac759f6252e8323c9473ed1503d0e6a57e270a080ad50436b4b7f335cf4",
        "c388fff29167973e4de1f6919fc114bdbd1e605e630b583ea3396fb022915601",
        "c62e4615bd39e222572f3a1bf7c2132ea1e65b17ec805047bd6b2842c593493f",
        "ca1a3a8a7ab55c7daa09690e300534150f24288ace8f064d0745b23adb92be70",
        "dc2408a56bac9ea737f8ed4aac2d1bcb319a1bc285caddb81ebed43fee6bfe66",
        "e57a2dbd37cd9abdfb763da9059d139dd1cc5c18a381a98cb014af352bb45e41",
        "e8665e8b14e2b5f76de3dc36e217becb9f18b487c94ae7d166646c5c9dcd4c22",
        "eb985064799caa8e926b1027dece58884dc62f6997322408c4d4b44539426f50",
        "edc3d02b1618b7b8dd19b35b126d201967abc07416349cbc98f538edb4a7c68b",
        "ef96b4b0b359c56396b26701f7bad6369527e21e14c7fc09b6fe68dc1c4c71f5",
        "f5d270b3808243456227e6471ddd0cf66755941aaaf38449909db454e0f7f547",
        "fef82746919ebfe7d9ead08654ebb0598c89a73ea58ca4015049b5d763763f5a",
    }
)


def fingerprint(secret: str) -> str:
    """The sha256 (hex) of ``secret``, as :data:`PUBLISHED_SECRET_FINGERPRINTS` holds it."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _refuse(name: str, secret: str, minimum: int) -> None:
    if len(secret) < minimum:
        raise ConfigError(f"{name} must be at least {minimum} characters with TIENDA_ENV=production")
    if fingerprint(secret) in PUBLISHED_SECRET_FINGERPRINTS:
        raise ConfigError(f"{name} is a value published in the tienda repository; set a secret of your own")


def check_production_secrets(env: Mapping[str, str]) -> None:
    """Refuse (:class:`telemetry.ConfigError` naming the variable) a secret in ``env`` that is published in the
    repository or shorter than its minimum. Variables that are not set are not checked here."""
    for name, minimum in SECRET_MINIMUMS.items():
        if env.get(name):
            _refuse(name, env[name], minimum)
    for name in URL_VARIABLES:
        try:
            password = urlsplit(env.get(name, "").strip()).password
        except ValueError:
            raise ConfigError(f"{name} is not a URL") from None
        if password:
            _refuse(f"the password in {name}", unquote(password), MIN_SECRET_CHARS)


#: Each service's HTTP port (docs/architecture.md, "Ports"): what ``make up`` starts it on, and where another
#: service finds it on one host when its ``<NAME>_URL`` is not set.
PORTS = {
    "products": 8001,
    "orders": 8002,
    "payments": 8003,
    "users": 8004,
    "notifications": 8005,
    "audit": 8006,
    "gateway": 8080,
}
#: The services others call (only the gateway calls notifications, as its own setting), at their local ports.
DEFAULT_URLS = {
    f"{name.upper()}_URL": f"http://127.0.0.1:{PORTS[name]}"
    for name in ("products", "orders", "payments", "users", "notifications")
}


def _url(env: Mapping[str, str], name: str) -> str:
    return http_url(name, env.get(name, "").strip() or DEFAULT_URLS[name])


def http_url(name: str, value: str) -> str:
    """``value``, the variable ``name``, as an http(s) URL without a trailing slash; :class:`ConfigError` otherwise."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name}={value!r} is not an http(s) URL")
    return value.rstrip("/")


def _key(env: Mapping[str, str], name: str, fallback: str, environment: str) -> str:
    """The signing key in ``env[name]``: at least :data:`MIN_KEY_CHARS`; ``fallback`` when unset in development only."""
    key = env.get(name, "")
    if not key:
        if environment != "development":
            raise ConfigError(f"{name} is required outside development")
        return fallback
    if len(key) < MIN_KEY_CHARS:
        raise ConfigError(f"{name} must be at least {MIN_KEY_CHARS} characters")
    if key == fallback and environment != "development":
        raise ConfigError(f"{name} is the development fallback; set a real secret")
    return key


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


#: Longest exchange or queue name a setting may give (AMQP allows 255 bytes; tienda's names are short).
MAX_BROKER_NAME_LENGTH = 200


def broker_name(name: str, value: object) -> str:
    """``value`` when it can name a RabbitMQ exchange or queue: a string of 1 to :data:`MAX_BROKER_NAME_LENGTH`
    characters, not only blanks; :class:`telemetry.ConfigError` naming the setting otherwise."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_BROKER_NAME_LENGTH:
        raise ConfigError(f"{name}={value!r} is not an exchange or queue name")
    return value


#: PolicyConfig field -> (variable, kind): what ``resilience_from_env`` reads.
RESILIENCE_VARIABLES = {
    "max_attempts": ("UPSTREAM_MAX_ATTEMPTS", int),
    "max_elapsed_seconds": ("UPSTREAM_RETRY_SECONDS", float),
    "failure_threshold": ("BREAKER_FAILURE_THRESHOLD", int),
    "reset_timeout_seconds": ("BREAKER_RESET_SECONDS", float),
    "max_concurrent": ("BULKHEAD_MAX_CONCURRENT", int),
}


def resilience_from_env(env: Mapping[str, str]) -> PolicyConfig:
    """The :class:`PolicyConfig` of :data:`RESILIENCE_VARIABLES` found in ``env`` over its defaults; a malformed
    value raises :class:`telemetry.ConfigError` naming the variable."""
    found: dict[str, Any] = {}
    for name, (variable, kind) in RESILIENCE_VARIABLES.items():
        raw = env.get(variable, "").strip()
        if not raw:
            continue
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{variable}={raw!r} is not a {'whole number' if kind is int else 'number'}") from None
        if kind is int:
            positive_int(variable, value)
        else:
            seconds(variable, value, zero=True)
        found[name] = value
    return PolicyConfig(**found)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What every service reads. Subclasses set :attr:`SERVICE` and add their own fields, with defaults."""

    #: The service these settings are for; a subclass names its own.
    SERVICE: ClassVar[str] = ""

    service: str
    environment: str
    database_url: str
    jwt_secret: str = field(repr=False)
    internal_token_key: str = field(repr=False)
    products_url: str
    orders_url: str
    payments_url: str
    users_url: str
    redis_url: str | None = None
    amqp_url: str | None = None
    #: Retries, breaker and bulkhead of each client to another service (``services.common.web.upstream_client``).
    resilience: PolicyConfig = field(default_factory=PolicyConfig)
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
        if environment not in ENVIRONMENTS:
            raise ConfigError(f"TIENDA_ENV={environment!r} is not one of {', '.join(ENVIRONMENTS)}")
        if environment == "production":
            check_production_secrets(env)
        secret = _key(env, "JWT_SECRET", DEVELOPMENT_JWT_SECRET, environment)
        internal_key = _key(env, "INTERNAL_TOKEN_KEY", DEVELOPMENT_INTERNAL_TOKEN_KEY, environment)
        if internal_key == secret:
            raise ConfigError("INTERNAL_TOKEN_KEY must differ from JWT_SECRET")
        database_url = env.get("DATABASE_URL", "").strip() or f"sqlite:///{VAR / (service + '.db')}"
        if "://" not in database_url:
            raise ConfigError(f"DATABASE_URL={database_url!r} is not a database URL")
        return cls(
            service=service,
            environment=environment,
            database_url=database_url,
            jwt_secret=secret,
            internal_token_key=internal_key,
            products_url=_url(env, "PRODUCTS_URL"),
            orders_url=_url(env, "ORDERS_URL"),
            payments_url=_url(env, "PAYMENTS_URL"),
            users_url=_url(env, "USERS_URL"),
            redis_url=env.get("REDIS_URL") or None,
            amqp_url=env.get("AMQP_URL") or None,
            resilience=resilience_from_env(env),
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
