"""What the payments integration tests share: the environment their apps run in, test cards, charge bodies,
and readers of rows and metrics."""

from __future__ import annotations

import uuid

from sqlalchemy import inspect, text

from services.common.web import wiring
from tests.support.auth import as_user

VISA = "4242424242424242"
MASTERCARD = "5555555555554444"
DECLINES = "4000000000000002"
NO_FUNDS = "4000000000009995"
VALID_EXPIRY = "12/99"
OUTCOMES = ("approved", "card_declined", "insufficient_funds")
#: A user looking up payments through the gateway (``GET /payments`` answers nobody else).
SHOPPER = as_user(5)

#: The environment every payments app of these tests is created in: no span export, INFO logs, no reconciler
#: thread (the tests that want one turn it on).
ENV = {
    "TIENDA_ENV": "test",
    "RECONCILE_INTERVAL_SECONDS": "0",
    "JWT_SECRET": "payments-integration-tests-secret-0123456789",
    "OTEL_TRACES_EXPORTER": "none",
    "LOG_LEVEL": "INFO",
}
UNSET = ("OTEL_SERVICE_NAME", "OTEL_SDK_DISABLED", "DATABASE_URL")


def apply_environment(monkeypatch) -> None:
    """Set :data:`ENV` and remove :data:`UNSET` through ``monkeypatch``."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)


def saga_for(order_id: object) -> str:
    """A saga id (32 hex digits) that is the same for the same ``order_id``: one checkout per order in a test."""
    return uuid.uuid5(uuid.NAMESPACE_OID, repr(order_id)).hex


def charge_body(
    order_id=1, amount_cents=1999, currency="EUR", number=VISA, expiry=VALID_EXPIRY, cvc="123", saga_id=None
):
    return {
        "saga_id": saga_for(order_id) if saga_id is None else saga_id,
        "order_id": order_id,
        "amount_cents": amount_cents,
        "currency": currency,
        "card": {"number": number, "expiry": expiry, "cvc": cvc},
    }


def rows(app, table="payments"):
    """Every row of ``table`` as dicts, ordered by id when the table has one."""
    engine = wiring(app).database.engine
    with engine.connect() as connection:
        result = connection.execute(text(f"SELECT * FROM {table}"))  # table names come from our own schema
        found = [dict(row._mapping) for row in result]
    return sorted(found, key=lambda r: r.get("id", 0))


def all_rows(app):
    """Every row of every table of the service's database, as (table, row) pairs."""
    engine = wiring(app).database.engine
    return [(table, row) for table in inspect(engine).get_table_names() for row in rows(app, table)]


def sample(app, name, labels=None):
    return app.extensions["telemetry"].metrics.registry.get_sample_value(name, labels or {})


def payment_counts(app):
    return {outcome: sample(app, "tienda_payments_total", {"outcome": outcome}) for outcome in OUTCOMES}
