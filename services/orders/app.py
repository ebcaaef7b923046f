"""The orders service (:8002): ``create_app()`` wires telemetry, the database, the saga's ports and the routes.

Configuration is ``Settings.from_env("orders")`` (``DATABASE_URL``, ``PRODUCTS_URL``, ``PAYMENTS_URL``,
``JWT_SECRET``, ...) with ``config`` overrides on top. Keys of ``config`` that are not settings fields land
in ``settings.extra``; this service reads:

``inventory`` ``payments``
    objects implementing the domain's ``Inventory`` / ``Payments`` ports, used instead of the HTTP
    clients of the products and payments services (tests pass fakes).
``recovery_grace_seconds`` (default 30)
    an order untouched this long in ``pending``/``reserved``/``paid``/``compensating`` was interrupted.
``recovery_interval_seconds`` (default 15)
    how often a daemon thread runs the recovery sweep (first at start); 0 turns the thread off.
``tracer_provider`` ``registry`` ``log_stream``
    passed to :func:`telemetry.instrument` (tests capture spans, metrics and log lines).

Nothing happens at import; under gunicorn ``create_app()`` (and with it the recovery thread) runs in each
worker, and the sweeps of several workers never act on one order twice (see ``store.py``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Mapping
from pathlib import Path

from flask import Flask

import telemetry
from services.common.settings import Settings
from services.common.web import attach_database, service_app
from telemetry.http import Client

from . import api
from .clients import PaymentsClient, ProductsClient
from .domain import Inventory, OrderService, Payments
from .metrics import PrometheusOrderMetrics
from .store import SqlOrderRepository

SERVICE = "orders"
MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_RECOVERY_GRACE_SECONDS = 30.0
DEFAULT_RECOVERY_INTERVAL_SECONDS = 15.0

log = logging.getLogger("services.orders")


def _seconds(extra: Mapping, key: str, default: float) -> float:
    value = extra.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise telemetry.ConfigError(f"{key}={value!r} is not a number of seconds >= 0")
    return float(value)


class RecoveryLoop:
    """A daemon thread running ``service.recover_unfinished()`` now and then every ``interval`` seconds."""

    def __init__(self, service: OrderService, interval_seconds: float) -> None:
        self.service = service
        self.interval_seconds = interval_seconds
        self.sweeps = 0
        self._stopping = threading.Event()
        self._swept = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="orders-recovery", daemon=True)

    def start(self) -> RecoveryLoop:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wait_for_sweeps(self, count: int, timeout: float) -> bool:
        """Block until ``count`` sweeps have finished (or ``timeout`` passes); True if they have."""
        with self._swept:
            return self._swept.wait_for(lambda: self.sweeps >= count, timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                recovered = self.service.recover_unfinished()
                if recovered:
                    log.info(
                        "recovery sweep finished",
                        extra={"event": "saga.recovery_sweep", "orders": [o.id for o in recovered]},
                    )
            except Exception:  # the loop must outlive a database or upstream outage
                log.exception("recovery sweep failed", extra={"event": "saga.recovery_sweep_failed"})
            with self._swept:
                self.sweeps += 1
                self._swept.notify_all()
            self._stopping.wait(self.interval_seconds)


def create_app(config: dict | None = None) -> Flask:
    settings = Settings.from_env(SERVICE).with_overrides(config)
    extra = settings.extra
    grace = _seconds(extra, "recovery_grace_seconds", DEFAULT_RECOVERY_GRACE_SECONDS)
    interval = _seconds(extra, "recovery_interval_seconds", DEFAULT_RECOVERY_INTERVAL_SECONDS)
    app, tel = service_app(__name__, settings)

    db = attach_database(app, tel, settings, MIGRATIONS)

    inventory: Inventory | None = extra.get("inventory")
    if inventory is None:
        inventory = ProductsClient(Client(settings.products_url, telemetry=tel, name="products"))
    payments: Payments | None = extra.get("payments")
    if payments is None:
        payments = PaymentsClient(Client(settings.payments_url, telemetry=tel, name="payments"))
    service = OrderService(
        SqlOrderRepository(db),
        inventory,
        payments,
        metrics=PrometheusOrderMetrics(tel.metrics.registry),
        # Keys the HMAC of idempotency fingerprints, so a stored fingerprint says nothing about a card.
        fingerprint_key=hashlib.sha256(b"tienda.orders.idempotency:" + settings.jwt_secret.encode()).digest(),
        recovery_grace_seconds=grace,
    )
    app.extensions[SERVICE] = service
    app.register_blueprint(api.blueprint)
    api.build_spec(tel.config.service_version).install(app)

    if interval > 0:
        app.extensions["orders.recovery"] = RecoveryLoop(service, interval).start()
    return app
