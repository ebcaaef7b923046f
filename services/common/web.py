"""The Flask app every service starts from, and the one object each service's ``create_app`` keeps.

``service_app`` gives the app its telemetry (with the settings' injected tracer provider, registry and log
stream, if any), the JSON error mapping, the body limit and JSON settings; ``attach_database`` opens the
service's database. What ``create_app`` wired is one :class:`Wiring` at ``app.extensions["tienda"]`` in every
service: tests and tools reach the service, its metrics, its database and its settings the same way everywhere.
:func:`audit_read` is the one handler of the keyset pages each service answers the integrity audit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import requests
from flask import Blueprint, Flask, jsonify, request
from flask.typing import ResponseReturnValue

import telemetry
from telemetry.http import DEFAULT_CONNECT_TIMEOUT_SECONDS, DEFAULT_READ_TIMEOUT_SECONDS, Client
from telemetry.resilience import Answer, Policy

from . import errors
from .access import callers, services
from .contract import IDEMPOTENT_REPLAYED_HEADER, KeysetPage, KeysetQuery, audit_page
from .db import Database, instrument_engine, migrate
from .periodic import Periodic
from .settings import Settings

if TYPE_CHECKING:
    import grpc

log = logging.getLogger("services.common")

MAX_BODY_BYTES = 64 * 1024
#: Where :func:`wire` keeps the :class:`Wiring` in ``app.extensions``.
EXTENSION = "tienda"

ServiceT = TypeVar("ServiceT")
MetricsT = TypeVar("MetricsT")
SettingsT = TypeVar("SettingsT", bound=Settings)
RowT = TypeVar("RowT")


@dataclass(frozen=True)
class Wiring(Generic[ServiceT, MetricsT]):
    """What ``create_app`` built: the same fields in every service (``database`` is None for the gateway).

    ``loops`` are the service's background jobs (orders' recovery sweep, the audit), already started;
    ``grpc_server`` is the gRPC server and the port it bound, where the service serves gRPC too (products).
    """

    settings: Settings
    telemetry: telemetry.Telemetry
    database: Database | None
    service: ServiceT
    metrics: MetricsT
    loops: tuple[Periodic, ...] = ()
    grpc_server: tuple[grpc.Server, int] | None = None


def service_app(
    import_name: str, settings_type: type[SettingsT], config: Mapping[str, Any] | None
) -> tuple[Flask, telemetry.Telemetry, SettingsT]:
    """A new instrumented Flask app, its telemetry handle and its settings: ``settings_type`` read from the
    environment with ``config`` laid over it (a key that is none of its fields is an error)."""
    settings = settings_type.from_env().with_overrides(config)
    app = Flask(import_name)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider has it
    tel = telemetry.instrument(
        app,
        service_name=settings.service,
        tracer_provider=settings.tracer_provider,
        registry=settings.registry,
        log_stream=settings.log_stream,
    )
    errors.install(app)
    if settings.environment == "demo":
        log.warning(
            "TIENDA_ENV=demo: running with the demo secrets published in the repository; not for a shared host",
            extra={"event": "settings.demo", "environment": "demo"},
        )
    return app, tel, settings


def attach_database(app: Flask, tel: telemetry.Telemetry, settings: Settings, migrations_dir: Path) -> Database:
    """Open the service's database: DB spans on, migrations applied, readiness check "database" registered."""
    db = Database(settings.database_url)
    instrument_engine(db.engine, tel.tracer_provider)
    migrate(db.engine, settings.service, migrations_dir)
    telemetry.health.register("database", db.check, app=app)
    return db


def upstream_client(
    tel: telemetry.Telemetry,
    settings: Settings,
    name: str,
    base_url: str,
    *,
    connect_timeout_seconds: float = DEFAULT_CONNECT_TIMEOUT_SECONDS,
    read_timeout_seconds: float = DEFAULT_READ_TIMEOUT_SECONDS,
) -> Client:
    """The instrumented client to the service ``name`` at ``base_url``, under its own :class:`Policy` (retries of
    idempotent calls, a circuit breaker, a bulkhead) configured by ``settings.resilience``. The timeouts are the
    caller's for this upstream (by default :mod:`telemetry.http`'s), capped by the request's remaining deadline
    budget.

    The client does not read the environment on each call (``trust_env`` off): a call from one tienda service to
    another goes straight to it, never through an ``HTTP_PROXY``, and requests' per-call scan of the environment
    (proxies, ``~/.netrc``) cost about 150 µs of CPU per call, four times per order in the order benchmark."""
    client = Client(
        base_url,
        telemetry=tel,
        name=name,
        connect_timeout_seconds=connect_timeout_seconds,
        read_timeout_seconds=read_timeout_seconds,
        policy=Policy(name, registry=tel.metrics.registry, config=settings.resilience, is_failure=failed_itself(name)),
    )
    client.session.trust_env = False
    return client


def failed_itself(upstream: str) -> Callable[[Answer], bool]:
    """Whether an answer of ``upstream`` is its own failure, for its breaker: a 5xx, unless its JSON error names
    another service in ``details.upstream`` (orders answering 503 while payments is down is orders working; the
    gateway's breaker to orders must not open for it, or one service down would shut every orders route) or is
    a stored answer replayed for an idempotency key (``Idempotent-Replayed: true``: a customer sending again the
    order a crash interrupted gets its stored 503 from an orders service that works)."""

    def failed(response: Answer) -> bool:
        if response.status_code < 500 or response.headers.get(IDEMPOTENT_REPLAYED_HEADER) == "true":
            return False
        if not isinstance(response, requests.Response):
            return True
        try:
            named = response.json()["error"]["details"]["upstream"]
        except (ValueError, KeyError, TypeError):
            return True
        return bool(named == upstream)

    return failed


def wire(app: Flask, wiring: Wiring[Any, Any]) -> None:
    """Keep ``wiring`` at ``app.extensions["tienda"]``."""
    app.extensions[EXTENSION] = wiring


def wiring(app: Flask) -> Wiring[Any, Any]:
    """The :class:`Wiring` ``create_app`` kept on ``app``."""
    found: Wiring[Any, Any] = app.extensions[EXTENSION]
    return found


def audit_read(
    bp: Blueprint,
    name: str,
    query: type[KeysetQuery[Any]],
    page: type[KeysetPage[Any]],
    read: Callable[..., Sequence[RowT]],
    key: Callable[[RowT], Any],
    item: Callable[[RowT], Any] = lambda row: row,
) -> None:
    """Route ``GET /audit/<name>`` (endpoint ``audit_<name>``) of ``bp`` for the integrity audit, its one caller:
    the page of ``read`` that ``query`` asks for (:func:`~services.common.contract.audit_page`, rows keyed by
    ``key``), answered as a ``page`` whose one list holds the rows, each as ``item(row)`` (by default the row
    itself). :meth:`~services.common.openapi.ApiSpec.audit_read` documents it."""
    lists = [field for field in page.model_fields if field != "next"]
    if len(lists) != 1:
        raise TypeError(f"{page.__name__} must hold one list of rows besides next, not {lists}")
    (rows_field,) = lists

    @callers(services("audit"))
    def answer() -> ResponseReturnValue:
        rows, after = audit_page(query, request.args, read, key)
        return jsonify(page(**{rows_field: [item(row) for row in rows], "next": after}).model_dump())

    bp.add_url_rule(f"/audit/{name}", f"audit_{name}", answer, methods=["GET"])
