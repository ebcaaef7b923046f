"""The products service's business metrics.

``tienda_stock_reservations_total{outcome}``   reservations by outcome: held, insufficient_stock, committed,
                                               released, returned, expired (held past the TTL, then released)
``tienda_cache_requests_total{result}``        product reads looked up in the Redis cache (with ``REDIS_URL``
                                               only), by result: hit, miss, error (read from the database)

Every series exists from the start at zero, so rates and alerts work before the first reservation. The domain
is told nothing about Prometheus: it calls its :class:`~services.products.domain.ProductEvents` port, which
:class:`ProductMetrics` implements;
the cache (:mod:`services.products.cache`) calls :meth:`ProductMetrics.cache_lookup`, its ``on_lookup``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from telemetry.metrics import counter_by

from .cache import RESULTS
from .domain import OUTCOMES, ProductEvents


class ProductMetrics(ProductEvents):
    """``cache``: whether product reads go through the Redis cache; without it there is no cache series."""

    def __init__(self, registry: CollectorRegistry, *, cache: bool = False) -> None:
        self.reservations_total = counter_by(
            "tienda_stock_reservations_total",
            "Stock reservations by outcome: held, insufficient_stock, committed, released, returned, expired.",
            "outcome",
            OUTCOMES,
            registry,
        )
        self.cache_requests_total = (
            counter_by(
                "tienda_cache_requests_total",
                "Product reads looked up in the Redis cache, by result (hit, miss, error: read from the database).",
                "result",
                RESULTS,
                registry,
            )
            if cache
            else None
        )

    def reservation_outcome(self, outcome: str) -> None:
        self.reservations_total.labels(outcome).inc()

    def cache_lookup(self, result: str) -> None:
        if self.cache_requests_total is not None:
            self.cache_requests_total.labels(result=result).inc()
