"""The consumer: takes events from RabbitMQ with manual acks, applies each once, retries, dead-letters.

Topology (declared by the consumer, all durable):

* the topic exchange ``tienda.events`` (``EVENTS_EXCHANGE``), which the relays publish to;
* ``<queue>`` (``NOTIFY_QUEUE``, default ``notifications.events``), bound to ``order.*`` and ``payment.*``;
* ``<queue>.retry``, with a message TTL of ``NOTIFY_RETRY_DELAY_SECONDS`` whose expired messages are
  dead-lettered back to ``<queue>``: a delay without a timer or a plugin;
* ``<queue>.dead``, where a message ends after ``NOTIFY_MAX_ATTEMPTS`` failed tries, for a person to look at.

Each message is acknowledged only after its effect is committed (or after it was re-published to the retry
or dead-letter queue, with publisher confirms): a consumer that dies mid-message leaves it unacknowledged,
and the broker delivers it again. The repository recognises an event applied before by its id, so a
redelivery has no second effect (counted as a duplicate). A message whose handling raises is re-published
to the retry queue with ``x-tienda-attempts`` incremented, or to the dead-letter queue once that reaches
the limit; a message that is not an event at all (a poison message) takes the same path and ends there.

Each message is handled in a ``process tienda.events`` span, child of the relay's ``publish`` span, with the
request ID of the request that caused the event current, so its log lines join that request's.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pika
import pika.exceptions
from opentelemetry import trace
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties
from pydantic import ValidationError

from services.common.events import Event
from services.common.relay import broker_parameters, close_quietly, open_channel
from telemetry import messaging
from telemetry.health import Degraded

from .domain import NotificationService
from .metrics import NotificationMetrics

log = logging.getLogger("services.notifications.consumer")
# pika logs every connection step at INFO; the consumer logs what matters (failures, recoveries) itself.
logging.getLogger("pika").setLevel(logging.WARNING)

ATTEMPTS_HEADER = "x-tienda-attempts"
BINDINGS = ("order.*", "payment.*")


class Consumer:
    """Consumes ``queue`` for :class:`NotificationService`; :meth:`consume_for` is one turn of its loop."""

    def __init__(
        self,
        url: str,
        service: NotificationService,
        metrics: NotificationMetrics,
        tracer: trace.Tracer,
        *,
        exchange: str,
        queue: str,
        max_attempts: int,
        retry_delay_seconds: float,
        prefetch: int = 20,
    ) -> None:
        self.url = url
        self.service = service
        self.metrics = metrics
        self.tracer = tracer
        self.exchange = exchange
        self.queue = queue
        self.retry_queue = f"{queue}.retry"
        self.dead_queue = f"{queue}.dead"
        self.max_attempts = max_attempts
        self.retry_delay_seconds = retry_delay_seconds
        self.prefetch = prefetch
        self.last_error: str | None = "not connected yet"
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._idle = threading.Event()

    def consume_for(self, seconds: float) -> None:
        """Handle what arrives for up to ``seconds`` (connecting first when needed), then measure the queues."""
        try:
            if self._channel is None or not self._channel.is_open:
                self._open()
            assert self._connection is not None
            self._connection.process_data_events(time_limit=seconds)
            self._measure()
        except (pika.exceptions.AMQPError, OSError) as exc:
            if self.last_error is None:
                log.warning(
                    "the broker is unreachable; events wait in the queue or the outbox",
                    extra={"event": "consumer.disconnected", "error": f"{type(exc).__name__}: {exc}"},
                )
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.close()
            self._idle.wait(min(seconds, 1.0))  # back off before connecting again

    def check(self) -> None:
        """Readiness: :class:`telemetry.health.Degraded` while the broker is unreachable."""
        if self.last_error is not None:
            raise Degraded(f"not consuming: {self.last_error}")

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        close_quietly(connection)

    def _open(self) -> None:
        self.close()
        self._connection, channel = open_channel(broker_parameters(self.url, 2.0), self.exchange)
        channel.queue_declare(self.queue, durable=True)
        for binding in BINDINGS:
            channel.queue_bind(self.queue, self.exchange, routing_key=binding)
        channel.queue_declare(
            self.retry_queue,
            durable=True,
            arguments={
                "x-message-ttl": int(self.retry_delay_seconds * 1000),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.queue,
            },
        )
        channel.queue_declare(self.dead_queue, durable=True)
        channel.confirm_delivery()  # re-publishing to the retry and dead-letter queues is confirmed before the ack
        channel.basic_qos(prefetch_count=self.prefetch)
        channel.basic_consume(self.queue, self._on_message, auto_ack=False)
        self._channel = channel
        if self.last_error is not None:
            log.info("consuming events", extra={"event": "consumer.connected", "queue": self.queue})
        self.last_error = None

    def _on_message(
        self, channel: BlockingChannel, method: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> None:
        headers: dict[str, Any] = dict(properties.headers or {})
        attempts = _attempts(headers)
        with messaging.processing(
            self.tracer,
            "rabbitmq",
            self.exchange,
            properties.message_id or "",
            headers,
            routing_key=method.routing_key,
        ) as span:
            span.set_attribute("messaging.rabbitmq.message.delivery_tag", method.delivery_tag or 0)
            try:
                event = Event.model_validate_json(body)
                applied = self.service.apply(event)
            except Exception as exc:
                self._fail(channel, properties, body, headers, attempts + 1, exc)
            else:
                self.metrics.consumed(event.type, duplicate=not applied)
                if not applied:
                    log.info(
                        "duplicate event ignored",
                        extra={"event": "consumer.duplicate", "event_id": event.id, "type": event.type},
                    )
        channel.basic_ack(method.delivery_tag)

    def _fail(
        self,
        channel: BlockingChannel,
        properties: BasicProperties,
        body: bytes,
        headers: dict[str, Any],
        attempts: int,
        exc: Exception,
    ) -> None:
        reason = "invalid_event" if isinstance(exc, ValidationError) else type(exc).__name__
        dead = attempts >= self.max_attempts
        target = self.dead_queue if dead else self.retry_queue
        channel.basic_publish(
            "",
            target,
            body,
            pika.BasicProperties(
                content_type=properties.content_type,
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=properties.message_id,
                type=properties.type,
                timestamp=properties.timestamp,
                headers={**headers, ATTEMPTS_HEADER: attempts, "x-tienda-error": reason},
            ),
        )
        (self.metrics.dead_lettered if dead else self.metrics.retried).inc()
        log.warning(
            "event dead-lettered" if dead else "event failed; retrying later",
            extra={
                "event": "consumer.dead_lettered" if dead else "consumer.retry",
                "message_id": properties.message_id,
                "attempts": attempts,
                "reason": reason,
            },
        )

    def _measure(self) -> None:
        assert self._channel is not None
        for queue in (self.queue, self.retry_queue, self.dead_queue):
            depth = self._channel.queue_declare(queue, passive=True).method.message_count
            self.metrics.queue_depth.labels(queue).set(depth)


def _attempts(headers: dict[str, Any]) -> int:
    value = headers.get(ATTEMPTS_HEADER, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
