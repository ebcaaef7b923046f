"""The payments service's business metrics, and the domain event log lines told with them.

``tienda_payments_total{outcome}``   charges the provider answered: approved, card_declined, insufficient_funds
``tienda_refunds_total``             payments refunded
``tienda_payments_reconciled_total{outcome}``   payments left ``processing`` that the reconciler settled from the
                                     provider's record: completed, declined, voided (the provider never saw them)

Every series exists from the start at zero, so rates and alerts work before the first payment. Each
outcome is counted and logged once, by the request that caused it; repeats of an idempotent request
count nothing. Event lines carry ids, amount and brand, never card data.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from telemetry.metrics import counter_by

from .contract import DECLINE_CODES
from .domain import RECONCILED, Payment, PaymentEvents

log = logging.getLogger("services.payments")

OUTCOMES = ("approved", *DECLINE_CODES)


class PaymentMetrics(PaymentEvents):
    """The domain's :class:`~services.payments.domain.PaymentEvents` port, counted and logged."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.payments = counter_by(
            "tienda_payments_total", "Card charges by provider outcome.", "outcome", OUTCOMES, registry
        )
        self.refunds = Counter("tienda_refunds_total", "Payments refunded.", registry=registry)
        self.reconciled_total = counter_by(
            "tienda_payments_reconciled_total",
            "Payments left processing, settled by the reconciler from the provider's record.",
            "outcome",
            RECONCILED,
            registry,
        )

    def approved(self, payment: Payment) -> None:
        self.payments.labels("approved").inc()
        log.info("payment approved", extra={"event": "payment.approved", **_fields(payment)})

    def declined(self, payment: Payment) -> None:
        self.payments.labels(payment.decline_code).inc()
        log.info(
            "payment declined",
            extra={"event": "payment.declined", "decline_code": payment.decline_code, **_fields(payment)},
        )

    def refunded(self, payment: Payment) -> None:
        self.refunds.inc()
        log.info("payment refunded", extra={"event": "payment.refunded", **_fields(payment)})

    def reconciled(self, payment: Payment, outcome: str) -> None:
        self.reconciled_total.labels(outcome).inc()
        log.warning(
            "payment reconciled",
            extra={"event": "payment.reconciled", "outcome": outcome, "status": payment.status, **_fields(payment)},
        )


def _fields(payment: Payment) -> dict[str, Any]:
    return {**payment.event_data(), "card_brand": payment.card_brand}
