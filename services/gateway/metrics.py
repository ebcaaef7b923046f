"""The gateway's business metrics.

``tienda_gateway_partial_responses_total{upstream}``   answers given without the part an upstream failed to
                                                       provide (order details without payments)

The series exists from the start at zero. The domain counts through its
:class:`~services.gateway.domain.PartialResponses` port and never sees Prometheus.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from services.common.metrics import counter_by

from .domain import PartialResponses

#: The upstreams an answer may be given without.
OPTIONAL_UPSTREAMS = ("payments",)


class GatewayMetrics(PartialResponses):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.partial_responses_total = counter_by(
            "tienda_gateway_partial_responses_total",
            "Answers given without the part an upstream failed to provide (e.g. order details without payments).",
            "upstream",
            OPTIONAL_UPSTREAMS,
            registry,
        )

    def partial_response(self, upstream: str) -> None:
        self.partial_responses_total.labels(upstream=upstream).inc()
