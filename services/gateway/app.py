"""The gateway service (:8080): the shop's only public entry.

``create_app(config)`` reads :class:`~services.gateway.settings.GatewaySettings` (``JWT_SECRET``, ``USERS_URL``,
``PRODUCTS_URL``, ``PRODUCTS_GRPC_URL``, ``ORDERS_URL``, ``PAYMENTS_URL``, ``NOTIFICATIONS_URL``, upstream
timeouts, the login and registration throttle) with ``config`` laid over it (every key must be one of its
fields), and builds the app: one instrumented HTTP client per service behind it (and products' gRPC client for the
catalog reads when ``PRODUCTS_GRPC_URL`` is set), one readiness check per service but notifications (what the
shop told a customer is no reason to stop taking orders: ``GET /notifications`` answers 503 while it is away),
the fault rules of the gateway and the four services for
the admin route, the throttle (:mod:`services.gateway.throttle`), the ``/api/v1`` blueprint, and the public
OpenAPI document at ``/openapi.json`` and ``/api/v1/openapi.json``. What was wired is a
:class:`services.common.web.Wiring` at ``app.extensions["tienda"]``
(with no database). Nothing connects to anything until a request needs it.

The document's paths are written without the ``/api/v1`` prefix, which is its server URL: a tool given either
the document's address or ``--url http://gateway/api/v1`` as the base sends requests to the right place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response

import telemetry
from services.common import access
from services.common.auth import Caller, InternalTokens, verify_token
from services.common.errors import NotFound
from services.common.web import Wiring, service_app, upstream_client, wire
from services.products.grpc_contract import SERVICE_NAME
from telemetry.resilience import Policy

from . import api
from .clients import (
    PRODUCTS_GRPC_UPSTREAM,
    GrpcHealthProbe,
    GrpcProductsClient,
    LivenessProbe,
    LocalFaultRules,
    NotificationsClient,
    OrdersClient,
    PaymentsClient,
    ProductsClient,
    RemoteFaultRules,
    UsersClient,
)
from .contract import API_PREFIX
from .domain import GatewayService
from .metrics import GatewayMetrics
from .settings import GatewaySettings
from .throttle import Throttle

READINESS_TIMEOUT_SECONDS = 1.0


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app, tel, settings = service_app(__name__, GatewaySettings, config)
    metrics = GatewayMetrics(tel.metrics.registry)
    upstreams = {
        "users": settings.users_url,
        "products": settings.products_url,
        "orders": settings.orders_url,
        "payments": settings.payments_url,
        "notifications": settings.notifications_url,
    }

    def client(name: str) -> telemetry.http.Client:
        return upstream_client(
            tel,
            settings,
            name,
            upstreams[name],
            connect_timeout_seconds=settings.upstream_connect_timeout_seconds,
            read_timeout_seconds=settings.read_timeout_seconds(name),
        )

    tokens = InternalTokens(settings.internal_token_key, settings.service)
    users = UsersClient("users", client("users"), tokens)
    products = ProductsClient("products", client("products"), tokens, on_stale=metrics.stale_answer)
    if settings.products_grpc_target is not None:  # the catalog reads over gRPC, the writes over HTTP
        products = GrpcProductsClient(
            "products",
            client("products"),
            tokens,
            target=settings.products_grpc_target,
            tel=tel,
            policy=Policy(PRODUCTS_GRPC_UPSTREAM, registry=tel.metrics.registry, config=settings.resilience),
            timeout_seconds=settings.read_timeout_seconds("products"),
            on_stale=metrics.stale_answer,
        )
        probe = GrpcHealthProbe(PRODUCTS_GRPC_UPSTREAM, settings.products_grpc_target, SERVICE_NAME)
        telemetry.health.register(PRODUCTS_GRPC_UPSTREAM, probe, timeout_seconds=READINESS_TIMEOUT_SECONDS, app=app)
    orders = OrdersClient("orders", client("orders"), tokens, order_budget_seconds=settings.order_budget_seconds)
    payments = PaymentsClient("payments", client("payments"), tokens)
    fault_rules = {
        "gateway": LocalFaultRules(tel.faults),
        **{upstream.name: RemoteFaultRules(upstream) for upstream in (users, products, orders, payments)},
    }
    service = GatewayService(
        jwt_secret=settings.jwt_secret,
        users=users,
        products=products,
        orders=orders,
        payments=payments,
        notifications=NotificationsClient("notifications", client("notifications"), tokens),
        events=metrics,
        faults=fault_rules,
    )
    for name, base_url in upstreams.items():
        if name == "notifications":
            continue
        telemetry.health.register(
            name, LivenessProbe(name, base_url), timeout_seconds=READINESS_TIMEOUT_SECONDS, app=app
        )

    app.register_blueprint(api.blueprint(service, Throttle(app, settings, metrics)))
    if "telemetry_faults" in app.view_functions:
        # The gateway's port is public: its own rules are reached through the admin route only, never through the
        # unauthenticated /admin/faults every internal service serves.
        def no_open_faults() -> Response:
            raise NotFound(f"Fault rules are set through {API_PREFIX}/admin/faults/<service> with an admin token.")

        app.view_functions["telemetry_faults"] = no_open_faults
    document = api.openapi()
    document.install(app)
    document.install(app, f"{API_PREFIX}/openapi.json", "api_openapi")
    # The public API checks user JWTs in its handlers, and /admin/faults answers 404 whoever asks (above); any
    # other route (none today) would need an admin's JWT.
    public = {endpoint for endpoint in app.view_functions if endpoint.startswith("api.")}
    public |= {"api_openapi", "telemetry_faults"}

    def public_caller(token: str) -> Caller:
        return Caller(settings.service, verify_token(token, settings.jwt_secret))

    access.install(app, public_caller, tel.metrics.registry, open_endpoints=public)
    wire(app, Wiring(settings=settings, telemetry=tel, database=None, service=service, metrics=metrics))
    return app
