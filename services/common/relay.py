"""The outbox relay: publishes each service's pending events to RabbitMQ, in order, marked sent once confirmed.

Orders and payments each run one relay in a background loop (``RELAY_INTERVAL_SECONDS``) when ``AMQP_URL``
is set. Every pass takes the oldest pending events of :class:`services.common.events.Outbox` and publishes
them one by one with pika:

* to the durable topic exchange ``tienda.events`` (declared by the relay), routing key = the event type;
* as persistent messages (``delivery_mode`` 2), ``mandatory`` so a message no queue would take counts as a
  failure instead of vanishing, with ``message_id`` = the event id;
* on a channel in confirm mode: ``basic_publish`` returns only once the broker has taken responsibility
  for the message, and only then is the event marked sent.

The first failure ends the pass, and the next pass starts again from that event: events keep the order
they were recorded in (so, per aggregate), and delivery is at least once (a confirm lost with the
connection means a second copy later; consumers dedupe by event id). With PostgreSQL a session advisory
lock makes one relay per database publish at a time, whatever the number of processes; the SQLite default
has one process per service.

pika (BlockingConnection) is used because the relay is one thread doing one thing at a time: a blocking
publish with confirms is the whole protocol, and pika is the client RabbitMQ's own tutorials use. The
connection is opened on first use and again after any failure, never at import or start-up.

While the broker is down the shop keeps taking orders: events wait in the outbox, the backlog gauges grow,
and the ``broker`` readiness check reports ``degraded`` (readiness stays 200).

Metrics:

``tienda_outbox_backlog`` (gauge) and ``tienda_outbox_oldest_age_seconds`` (gauge)
    events waiting, and how long ago the oldest of them happened (0 when none wait).
``tienda_events_published_total`` ``tienda_events_confirmed_total`` (counters, by ``type``)
    messages handed to the broker, and those it confirmed.
``tienda_events_publish_failures_total`` (counter, by ``reason``: ``unreachable``, ``nacked``, ``unroutable``)
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import pika
import pika.exceptions
from opentelemetry import trace
from pika.adapters.blocking_connection import BlockingChannel
from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import Connection, Engine, text

import telemetry
from telemetry import messaging
from telemetry.health import Degraded
from telemetry.metrics import counter_by

from .events import EVENT_TYPES, EXCHANGE, Event, Outbox
from .periodic import Periodic
from .settings import Settings, broker_name, env_seconds, seconds

log = logging.getLogger("services.relay")
# pika logs every connection step at INFO; the relay logs what matters (failures, recoveries) itself.
logging.getLogger("pika").setLevel(logging.WARNING)

FAILURE_REASONS = ("unreachable", "nacked", "unroutable")


class PublishFailed(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Broker(Protocol):
    """Where the relay publishes: :class:`RabbitBroker`, or a test's stand-in."""

    exchange: str

    def publish(self, event: Event, headers: dict[str, str]) -> None:
        """Return once the broker confirmed the message; raise :class:`PublishFailed` otherwise."""

    def close(self) -> None: ...


class RabbitBroker:
    """A confirmed publisher to the ``tienda.events`` exchange over one pika connection."""

    def __init__(self, url: str, *, exchange: str = EXCHANGE, timeout_seconds: float = 2.0) -> None:
        self.url = url
        self.exchange = exchange
        self.timeout_seconds = timeout_seconds
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def publish(self, event: Event, headers: dict[str, str]) -> None:
        properties = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=event.id,
            type=event.type,
            timestamp=int(event.occurred_at.timestamp()),
            headers=headers,
        )
        try:
            self._open().basic_publish(
                self.exchange, event.type, event.model_dump_json().encode(), properties, mandatory=True
            )
        except pika.exceptions.UnroutableError:
            raise PublishFailed("unroutable", f"no queue is bound for {event.type}") from None
        except pika.exceptions.NackError:
            self.close()
            raise PublishFailed("nacked", f"the broker refused {event.type} {event.id}") from None
        except (pika.exceptions.AMQPError, OSError) as exc:
            self.close()
            raise PublishFailed("unreachable", f"{type(exc).__name__}: {exc}") from None

    def keepalive(self) -> None:
        """Serve the connection's heartbeats between passes (a closed connection is dropped, reopened later)."""
        if self._connection is not None:
            try:
                self._connection.process_data_events(time_limit=0)
            except (pika.exceptions.AMQPError, OSError):
                self.close()

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        close_quietly(connection)

    def _open(self) -> BlockingChannel:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self.close()
        parameters = broker_parameters(self.url, self.timeout_seconds)
        parameters.stack_timeout = self.timeout_seconds * 2
        parameters.blocked_connection_timeout = self.timeout_seconds * 2
        self._connection, channel = open_channel(parameters, self.exchange)
        channel.confirm_delivery()
        self._channel = channel
        return channel


def broker_parameters(url: str, timeout_seconds: float) -> pika.URLParameters:
    """How the relay and the notifications consumer connect to the broker at ``url``: one attempt, ``timeout_seconds``
    on the socket, a heartbeat every 30 s."""
    parameters = pika.URLParameters(url)
    parameters.connection_attempts = 1
    parameters.socket_timeout = timeout_seconds
    parameters.heartbeat = 30
    return parameters


def open_channel(parameters: pika.URLParameters, exchange: str) -> tuple[pika.BlockingConnection, BlockingChannel]:
    """A connection with ``parameters`` and a channel on it with the events' topic ``exchange`` declared (durable),
    which the relay publishes to and the consumer binds its queue to. The connection is closed if the channel fails."""
    connection = pika.BlockingConnection(parameters)
    try:
        channel = connection.channel()
        channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    except BaseException:
        close_quietly(connection)
        raise
    return connection, channel


def close_quietly(connection: pika.BlockingConnection | None) -> None:
    """Close ``connection`` if it is open; one that is already broken has nothing left to release."""
    if connection is not None and connection.is_open:
        with contextlib.suppress(pika.exceptions.AMQPError, OSError):
            connection.close()


class RelayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.backlog = Gauge("tienda_outbox_backlog", "Events recorded and not yet published.", registry=registry)
        self.oldest_age = Gauge(
            "tienda_outbox_oldest_age_seconds",
            "How long ago the oldest unpublished event happened (0 when none wait).",
            registry=registry,
        )
        self.published = counter_by(
            "tienda_events_published_total", "Event messages handed to the broker.", "type", EVENT_TYPES, registry
        )
        self.confirmed = counter_by(
            "tienda_events_confirmed_total", "Event messages the broker confirmed.", "type", EVENT_TYPES, registry
        )
        self.failures = counter_by(
            "tienda_events_publish_failures_total",
            "Event publications that failed.",
            "reason",
            FAILURE_REASONS,
            registry,
        )


@dataclass(eq=False)
class Relay:
    """One pass of :meth:`run_once` publishes what waits in ``outbox`` (see the module's documentation)."""

    service: str
    engine: Engine
    outbox: Outbox
    broker: Broker | None
    metrics: RelayMetrics
    tracer: trace.Tracer
    _: KW_ONLY
    batch_size: int = 100
    last_error: str | None = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)  # one pass at a time in this process
    _lock_name: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.last_error = None if self.broker is not None else "no broker configured (AMQP_URL)"
        self._lock_name = {"name": f"relay:{self.service}"}

    def run_once(self) -> int:
        """Publish pending events until none wait or one fails; returns how many were confirmed."""
        confirmed = 0
        try:
            if self.broker is not None:
                # The lock's connection stays open for the pass: a session advisory lock lives as long as it.
                with self._lock, self.engine.connect() as holder:
                    if not self._leader(holder):
                        return 0
                    try:
                        confirmed = self._publish_all()
                    finally:
                        self._release(holder)
        finally:
            self._measure()
        return confirmed

    def check(self) -> None:
        """Readiness: :class:`telemetry.health.Degraded` while events cannot reach the broker."""
        if self.last_error is not None:
            raise Degraded(f"events wait in the outbox: {self.last_error}")

    def _publish_all(self) -> int:
        assert self.broker is not None
        if isinstance(self.broker, RabbitBroker):
            self.broker.keepalive()
        confirmed = 0
        while True:
            with self.engine.connect() as connection:
                batch = self.outbox.pending(connection, self.batch_size)
            if not batch:
                self.last_error = None
                return confirmed
            sent: list[int] = []
            try:
                for pending in batch:
                    event = pending.event
                    self.metrics.published.labels(event.type).inc()
                    with messaging.publishing(
                        self.tracer, "rabbitmq", self.broker.exchange, event.id, pending.headers, routing_key=event.type
                    ) as headers:
                        self.broker.publish(event, headers)
                    self.metrics.confirmed.labels(event.type).inc()
                    sent.append(pending.position)
            except PublishFailed as failure:
                self.metrics.failures.labels(failure.reason).inc()
                if self.last_error is None:
                    log.warning(
                        "events cannot be published; they wait in the outbox",
                        extra={"event": "relay.failed", "reason": failure.reason, "error": str(failure)},
                    )
                self.last_error = f"{failure.reason}: {failure}"
                return confirmed + len(sent)
            finally:
                with self.engine.begin() as connection:
                    self.outbox.mark_published(connection, sent)
            confirmed += len(sent)
            if len(batch) < self.batch_size:
                self.last_error = None
                return confirmed

    def _leader(self, connection: Connection) -> bool:
        """Whether this relay may publish now: with PostgreSQL, it holds the database's relay lock."""
        if self.engine.dialect.name != "postgresql":
            return True
        got = connection.execute(text("SELECT pg_try_advisory_lock(hashtext(:name))"), self._lock_name).scalar()
        connection.commit()
        return bool(got)

    def _release(self, connection: Connection) -> None:
        if self.engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_unlock(hashtext(:name))"), self._lock_name)
            connection.commit()

    def _measure(self) -> None:
        with self.engine.connect() as connection:
            count, oldest = self.outbox.backlog(connection)
        self.metrics.backlog.set(count)
        self.metrics.oldest_age.set((datetime.now(UTC) - oldest).total_seconds() if oldest else 0)

    def close(self) -> None:
        if self.broker is not None:
            self.broker.close()


@dataclass(frozen=True, kw_only=True)
class RelaySettings:
    """The settings of a service that publishes events (orders, payments), beside its :class:`Settings`.

    ``RELAY_INTERVAL_SECONDS`` (default 1)
        how long the relay waits after a pass before the next one.
    ``EVENTS_EXCHANGE`` (default ``tienda.events``)
        the exchange it publishes to (tests give each their own).
    """

    relay_interval_seconds: float = 1.0
    events_exchange: str = EXCHANGE

    def check_relay_settings(self) -> None:
        """The one check of these fields, called from the service's ``__post_init__``."""
        name = "relay_interval_seconds"
        object.__setattr__(self, name, seconds(name, getattr(self, name)))
        broker_name("EVENTS_EXCHANGE", self.events_exchange)

    @staticmethod
    def read_relay_env(env: Mapping[str, str]) -> dict[str, Any]:
        found: dict[str, Any] = env_seconds(env, "RELAY_INTERVAL_SECONDS")
        if env.get("EVENTS_EXCHANGE", "").strip():
            found["events_exchange"] = env["EVENTS_EXCHANGE"].strip()
        return found


def start_relay(
    app: Any, tel: telemetry.Telemetry, settings: Settings, engine: Engine, outbox: Outbox
) -> tuple[Periodic, ...]:
    """With ``AMQP_URL`` set: the started relay loop of ``settings.service`` and its ``broker`` readiness check
    (degraded, never failing, while events wait). Without it: no loop; events wait in the outbox."""
    assert isinstance(settings, RelaySettings)
    if not settings.amqp_url:
        return ()
    broker = RabbitBroker(settings.amqp_url, exchange=settings.events_exchange)
    relay = Relay(settings.service, engine, outbox, broker, RelayMetrics(tel.metrics.registry), tel.tracer)
    telemetry.health.register("broker", relay.check, app=app)
    loop = Periodic(f"{settings.service}-relay", relay.run_once, settings.relay_interval_seconds, cleanup=relay.close)
    return (loop.start(),)
