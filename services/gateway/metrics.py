"""The gateway's business metrics.

``tienda_gateway_partial_responses_total{upstream}``   answers given without the part an upstream failed to
                                                       provide (order details without payments)
``tienda_gateway_stale_answers_total{route}``          product reads answered with the last good answer, marked
                                                       stale, because products failed
                                                       (:class:`services.gateway.clients.LastGood`)
``tienda_rate_limited_total{route}``                   requests refused 429 by the login and registration
                                                       throttle (:mod:`services.gateway.throttle`)

The series exist from the start at zero. The domain counts through its
:class:`~services.gateway.domain.GatewayEvents` port and never sees Prometheus.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from telemetry.metrics import counter_by

from .domain import GatewayEvents

#: The upstreams an answer may be given without.
OPTIONAL_UPSTREAMS = ("payments",)
#: The product reads that may be answered stale (route templates of the products client).
STALE_ROUTES = ("/products", "/products/{id}")
#: The throttled routes, as Flask rules (the ``http_route`` of the server metrics).
THROTTLED_ROUTES = ("/api/v1/auth/token", "/api/v1/users")


class GatewayMetrics(GatewayEvents):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.partial_responses_total = counter_by(
            "tienda_gateway_partial_responses_total",
            "Answers given without the part an upstream failed to provide (e.g. order details without payments).",
            "upstream",
            OPTIONAL_UPSTREAMS,
            registry,
        )

        self.rate_limited_total = counter_by(
            "tienda_rate_limited_total",
            "Requests refused with 429 by the login and registration throttle.",
            "route",
            THROTTLED_ROUTES,
            registry,
        )

        self.stale_answers_total = counter_by(
            "tienda_gateway_stale_answers_total",
            "Product reads answered with the last good answer, marked stale, because products failed.",
            "route",
            STALE_ROUTES,
            registry,
        )

    def stale_answer(self, route: str) -> None:
        self.stale_answers_total.labels(route=route).inc()

    def rate_limited(self, route: str) -> None:
        self.rate_limited_total.labels(route=route).inc()

    def partial_response(self, upstream: str) -> None:
        self.partial_responses_total.labels(upstream=upstream).inc()
