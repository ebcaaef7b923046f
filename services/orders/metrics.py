"""The orders business metrics, on the service's Prometheus registry.

``tienda_orders_total{outcome}``             orders by answer: confirmed, declined, out_of_stock, failed
``tienda_order_value``                       histogram of confirmed order totals in EUR (currency units)
``tienda_order_cancellations_total``         confirmed orders cancelled
``tienda_saga_compensations_total{step}``    compensations carried out: refund, release

Every labelled child exists from the start (at zero), so rates work before the first event. Order values
carry a ``trace_id`` exemplar when the current span is sampled.
"""

from __future__ import annotations

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter, Histogram

from telemetry.metrics import counter_by

from .domain import COMPENSATION_STEPS, OUTCOMES, OrderEvents, OrderOutcome

ORDER_VALUE_BUCKETS_EUR = (5, 10, 20, 50, 100, 200, 500, 1000, 2000)


class OrderMetrics(OrderEvents):
    """The domain's :class:`~services.orders.domain.OrderEvents` port on ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.orders = counter_by("tienda_orders_total", "Orders by outcome.", "outcome", OUTCOMES, registry)
        self.value = Histogram(
            "tienda_order_value",
            "Totals of confirmed orders, in currency units (EUR).",
            buckets=ORDER_VALUE_BUCKETS_EUR,
            registry=registry,
        )
        self.cancellations = Counter(
            "tienda_order_cancellations_total", "Confirmed orders cancelled.", registry=registry
        )
        self.compensations = counter_by(
            "tienda_saga_compensations_total",
            "Saga compensation steps carried out.",
            "step",
            COMPENSATION_STEPS,
            registry,
        )

    def outcome(self, outcome: OrderOutcome) -> None:
        self.orders.labels(outcome).inc()

    def confirmed_value(self, total_cents: int, currency: str) -> None:
        context = trace.get_current_span().get_span_context()
        exemplar = {"trace_id": format(context.trace_id, "032x")} if context.trace_flags.sampled else None
        self.value.observe(total_cents / 100, exemplar=exemplar)

    def cancelled(self) -> None:
        self.cancellations.inc()

    def compensated(self, step: str) -> None:
        self.compensations.labels(step).inc()
