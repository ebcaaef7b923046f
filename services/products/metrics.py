"""The products service's business metrics.

``tienda_stock_reservations_total{outcome}``   reservations by outcome: held, insufficient_stock, committed,
                                               released, returned, expired (held past the TTL, then released)

Every series exists from the start at zero, so rates and alerts work before the first reservation. The domain
is told nothing about Prometheus: it calls :meth:`ProductMetrics.reservation_outcome`, its ``on_outcome`` port.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from services.common.metrics import counter_by

from .domain import OUTCOMES


class ProductMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.reservations_total = counter_by(
            "tienda_stock_reservations_total",
            "Stock reservations by outcome: held, insufficient_stock, committed, released, returned, expired.",
            "outcome",
            OUTCOMES,
            registry,
        )

    def reservation_outcome(self, outcome: str) -> None:
        self.reservations_total.labels(outcome).inc()
