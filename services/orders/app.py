"""The orders service (:8002): ``create_app()`` wires telemetry, the database, the saga's ports and the routes.

    gunicorn -c gunicorn.conf.py -b 127.0.0.1:8002 'services.orders.app:create_app()'

Configuration is :class:`~services.orders.settings.OrderSettings` (``DATABASE_URL``, ``PRODUCTS_URL``,
``PAYMENTS_URL``, ``JWT_SECRET``, ...) with ``config`` laid over it; every key of ``config`` must be one of its
fields (``recovery_grace_seconds``, ``inventory``, ``tracer_provider``, ...). What was wired is a
:class:`services.common.web.Wiring` at ``app.extensions["tienda"]``; the recovery loop, when it runs, is its
``loops[0]``; with ``AMQP_URL`` set the outbox relay (:func:`services.common.relay.start_relay`) is the last loop.

Nothing happens at import; under gunicorn ``create_app()`` (and with it the recovery thread) runs in each
worker, and the sweeps of several workers never act on one order twice (see ``store.py``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from services.common import access
from services.common.auth import InternalTokens
from services.common.periodic import start_every
from services.common.relay import start_relay
from services.common.web import Wiring, attach_database, service_app, upstream_client, wire
from telemetry.http import Client

from . import api
from .clients import PaymentsClient, ProductsClient
from .domain import OrderService
from .metrics import OrderMetrics
from .settings import OrderSettings
from .store import SqlOrderRepository

MIGRATIONS = Path(__file__).parent / "migrations"

log = logging.getLogger("services.orders")


def _sweep(service: OrderService) -> None:
    recovered = service.recover_unfinished()
    if recovered:
        log.info("recovery sweep finished", extra={"event": "saga.recovery_sweep", "orders": [o.id for o in recovered]})


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app, tel, settings = service_app(__name__, OrderSettings, config)
    metrics = OrderMetrics(tel.metrics.registry)
    db = attach_database(app, tel, settings, MIGRATIONS)

    tokens = InternalTokens(settings.internal_token_key, settings.service)

    def client(base_url: str, name: str) -> Client:
        return upstream_client(
            tel,
            settings,
            name,
            base_url,
            connect_timeout_seconds=settings.upstream_connect_timeout_seconds,
            read_timeout_seconds=settings.upstream_read_timeout_seconds,
        )

    inventory = settings.inventory
    if inventory is None:
        inventory = ProductsClient(client(settings.products_url, "products"), tokens)
    payments = settings.payments
    if payments is None:
        payments = PaymentsClient(client(settings.payments_url, "payments"), tokens)
    repository = SqlOrderRepository(db)
    service = OrderService(
        repository,
        inventory,
        payments,
        events=metrics,
        # Keys the HMAC of idempotency fingerprints, so a stored fingerprint says nothing about a card.
        fingerprint_key=hashlib.sha256(b"tienda.orders.idempotency:" + settings.jwt_secret.encode()).digest(),
        recovery_grace_seconds=settings.recovery_grace_seconds,
        confirm_margin_seconds=settings.confirm_margin_seconds,
    )
    app.register_blueprint(api.blueprint(service))
    api.openapi().install(app)
    if settings.unsafe_grace():
        log.warning(
            "the recovery grace is shorter than a live request may go without saving its order",
            extra={"event": "orders.recovery_grace_short", "recovery_grace_seconds": settings.recovery_grace_seconds},
        )
    access.install(app, tokens.verify, tel.metrics.registry)
    loops = start_every("orders-recovery", lambda: _sweep(service), settings.recovery_interval_seconds)
    loops += start_relay(app, tel, settings, db.engine, repository.outbox)
    wire(app, Wiring(settings=settings, telemetry=tel, database=db, service=service, metrics=metrics, loops=loops))
    return app
