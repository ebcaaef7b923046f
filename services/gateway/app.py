"""The gateway service (:8080): the shop's only public entry.

``create_app(config)`` reads ``Settings.from_env("gateway")`` (``JWT_SECRET``, ``USERS_URL``,
``PRODUCTS_URL``, ``ORDERS_URL``, ``PAYMENTS_URL``) with ``config`` laid over it, and builds the app: one
instrumented HTTP client per service behind it, one readiness check per service, the ``/api/v1`` blueprint,
and the public OpenAPI document at ``/openapi.json`` and ``/api/v1/openapi.json``. Nothing connects to
anything until a request needs it.

``config`` may also carry (tests use them):

``upstream_connect_timeout_seconds``  connect timeout of every upstream call (default 1 s);
``upstream_read_timeout_seconds``     read timeout of every upstream call (default 10 s for orders, whose
                                      ``POST /orders`` runs a saga of several calls, 5 s for the others);
``tracer_provider`` ``registry`` ``log_stream``
                                      passed to :func:`telemetry.instrument` (tests capture spans, metrics
                                      and log lines).
"""

from __future__ import annotations

from flask import Flask, jsonify
from prometheus_client import Counter

import telemetry
from services.common.settings import Settings
from services.common.web import service_app
from telemetry import ConfigError

from .api import Gateway, bp
from .clients import LivenessProbe, OrdersClient, PaymentsClient, ProductsClient, UsersClient
from .schemas import API_PREFIX, openapi_document

SERVICE = "gateway"
CONNECT_TIMEOUT_SECONDS = 1.0
READ_TIMEOUT_SECONDS = 5.0
ORDERS_READ_TIMEOUT_SECONDS = 10.0
READINESS_TIMEOUT_SECONDS = 1.0


def _seconds(extra: dict, key: str, default: float | None) -> float | None:
    value = extra.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{key}={value!r} is not a positive number of seconds")
    return float(value)


def create_app(config: dict | None = None) -> Flask:
    settings = Settings.from_env(SERVICE).with_overrides(config)
    connect = _seconds(settings.extra, "upstream_connect_timeout_seconds", CONNECT_TIMEOUT_SECONDS)
    read_override = _seconds(settings.extra, "upstream_read_timeout_seconds", None)
    app, tel = service_app(__name__, settings)

    def client(name: str, base_url: str, read_seconds: float) -> telemetry.http.Client:
        return telemetry.http.Client(
            base_url,
            telemetry=tel,
            name=name,
            connect_timeout_seconds=connect,
            read_timeout_seconds=read_override or read_seconds,
        )

    partial = Counter(
        "tienda_gateway_partial_responses",
        "Answers given without the part an upstream failed to provide (e.g. order details without payments).",
        ["upstream"],
        registry=tel.metrics.registry,
    )
    partial.labels(upstream="payments")  # present at zero from the start
    app.extensions["gateway"] = Gateway(
        jwt_secret=settings.jwt_secret,
        users=UsersClient("users", client("users", settings.users_url, READ_TIMEOUT_SECONDS)),
        products=ProductsClient("products", client("products", settings.products_url, READ_TIMEOUT_SECONDS)),
        orders=OrdersClient("orders", client("orders", settings.orders_url, ORDERS_READ_TIMEOUT_SECONDS)),
        payments=PaymentsClient("payments", client("payments", settings.payments_url, READ_TIMEOUT_SECONDS)),
        partial_responses=partial,
    )

    upstreams = {
        "users": settings.users_url,
        "products": settings.products_url,
        "orders": settings.orders_url,
        "payments": settings.payments_url,
    }
    for name, base_url in upstreams.items():
        telemetry.health.register(
            name, LivenessProbe(name, base_url), timeout_seconds=READINESS_TIMEOUT_SECONDS, app=app
        )

    app.register_blueprint(bp)

    document = openapi_document()

    def openapi():
        return jsonify(document)

    app.add_url_rule("/openapi.json", "openapi", openapi, methods=["GET"])
    app.add_url_rule(f"{API_PREFIX}/openapi.json", "api_openapi", openapi, methods=["GET"])
    return app
