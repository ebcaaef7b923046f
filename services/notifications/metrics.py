"""The notifications service's metrics.

``tienda_notifications_recorded_total{kind}``   notifications recorded (one per applied event)
``tienda_events_consumed_total{type}``          event messages handled (duplicates included)
``tienda_events_duplicates_total``              redelivered events recognised and ignored
``tienda_events_retried_total``                 failed messages sent to the retry queue
``tienda_events_dead_lettered_total``           messages sent to the dead-letter queue
``tienda_queue_depth{queue}``                   messages waiting in the queue, its retry and dead-letter queues
"""

from __future__ import annotations

from typing import get_args

from prometheus_client import CollectorRegistry, Counter, Gauge

from services.common.events import EVENT_TYPES
from telemetry.metrics import counter_by

from .contract import Kind
from .domain import NotificationEvents


class NotificationMetrics(NotificationEvents):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.recorded_total = counter_by(
            "tienda_notifications_recorded_total", "Notifications recorded.", "kind", get_args(Kind), registry
        )
        self.consumed_total = counter_by(
            "tienda_events_consumed_total", "Event messages handled.", "type", EVENT_TYPES, registry
        )
        self.duplicates = Counter(
            "tienda_events_duplicates_total", "Redelivered events recognised and ignored.", registry=registry
        )
        self.retried = Counter("tienda_events_retried_total", "Failed event messages sent to retry.", registry=registry)
        self.dead_lettered = Counter(
            "tienda_events_dead_lettered_total", "Event messages sent to the dead-letter queue.", registry=registry
        )
        self.queue_depth = Gauge("tienda_queue_depth", "Messages waiting in a queue.", ("queue",), registry=registry)

    def recorded(self, kind: str) -> None:
        self.recorded_total.labels(kind).inc()

    def consumed(self, event_type: str, *, duplicate: bool) -> None:
        if event_type in EVENT_TYPES:  # the label stays bounded whatever a producer sends
            self.consumed_total.labels(event_type).inc()
        if duplicate:
            self.duplicates.inc()
