"""The notifications service consuming real RabbitMQ messages: once in effect, retried, dead-lettered, traced."""

import io
import json
import time
import uuid
from datetime import UTC, datetime

import pytest
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

from services.common.events import ORDER_CONFIRMED, PAYMENT_CAPTURED, Event
from services.common.relay import RabbitBroker
from services.common.web import wiring
from services.notifications.app import create_app
from services.notifications.consumer import Consumer
from services.notifications.domain import NotificationService
from telemetry import messaging
from tests.support import broker as rabbit
from tests.support.auth import as_admin, as_user

ADMIN = as_admin(99)


def _user(user_id):
    return as_user(user_id)


@pytest.fixture
def service_app(database_url, topology, tracing):
    """The notifications app consuming the private topology (3 tries, 0.2 s apart)."""
    registry, logs = CollectorRegistry(), io.StringIO()
    app = create_app(
        {
            "database_url": database_url,
            "amqp_url": rabbit.AMQP_URL,
            "events_exchange": topology.exchange,
            "notify_queue": topology.queue,
            "notify_max_attempts": 3,
            "notify_retry_delay_seconds": 0.2,
            "tracer_provider": tracing[0],
            "registry": registry,
            "log_stream": logs,
        }
    )
    app.registry, app.logs = registry, logs
    yield app
    for loop in wiring(app).loops:
        loop.stop()
    wiring(app).database.dispose()


def _event(event_type, aggregate_id, **data):
    return Event(
        id=uuid.uuid4().hex,
        type=event_type,
        aggregate_type=event_type.split(".")[0],
        aggregate_id=str(aggregate_id),
        version=1,
        occurred_at=datetime.now(UTC),
        data=data,
    )


def _publish(topology, *events, headers=None):
    broker = RabbitBroker(rabbit.AMQP_URL, exchange=topology.exchange)
    try:
        for event in events:
            broker.publish(event, dict(headers or {}))
    finally:
        broker.close()


def _wait_until(predicate, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)  # polling interval, not a timing assertion
    return predicate()


def _ready(app):
    client = app.test_client()
    return _wait_until(lambda: client.get("/health/ready").get_json()["status"] == "ok")


def _notifications(app, headers=ADMIN, **query):
    response = app.test_client().get("/notifications", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_each_event_becomes_one_notification_and_a_redelivered_one_has_no_second_effect(service_app, topology):
    assert _ready(service_app)
    confirmed = _event(ORDER_CONFIRMED, 7, order_id=7, user_id=1, total_cents=2500, currency="EUR")
    _publish(topology, confirmed, confirmed)
    assert _wait_until(lambda: service_app.registry.get_sample_value("tienda_events_duplicates_total") == 1)
    (only,) = _notifications(service_app)
    assert only["event_id"] == confirmed.id and only["kind"] == "order_confirmed" and only["user_id"] == 1
    assert service_app.registry.get_sample_value("tienda_events_consumed_total", {"type": ORDER_CONFIRMED}) == 2
    assert (
        service_app.registry.get_sample_value("tienda_notifications_recorded_total", {"kind": "order_confirmed"}) == 1
    )


def test_customers_see_their_own_notifications_and_an_admin_sees_everyones(service_app, topology):
    assert _ready(service_app)
    captured = _event(PAYMENT_CAPTURED, 31, order_id=8, amount_cents=1250, currency="EUR")
    _publish(
        topology,
        captured,  # names no user: its customer comes from the order's events
        _event(ORDER_CONFIRMED, 8, order_id=8, user_id=1),
        _event(ORDER_CONFIRMED, 9, order_id=9, user_id=2),
    )
    assert _wait_until(lambda: len(_notifications(service_app)) == 3)
    mine = _notifications(service_app, _user(1))
    assert {(n["kind"], n["order_id"]) for n in mine} == {("payment_captured", 8), ("order_confirmed", 8)}
    assert next(n for n in mine if n["kind"] == "payment_captured")["message"] == "We received 12.50 EUR for order 8."
    assert [n["order_id"] for n in _notifications(service_app, _user(2))] == [9]
    assert len(_notifications(service_app, ADMIN, user_id=1)) == 2
    refused = service_app.test_client().get("/notifications", headers=_user(2), query_string={"user_id": 1})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "admin_only"
    assert service_app.test_client().get("/notifications").status_code == 401
    assert service_app.test_client().get("/notifications", headers=ADMIN, query_string={"limit": 0}).status_code == 422


def test_a_poison_message_is_retried_then_dead_lettered_and_changes_nothing(service_app, topology):
    assert _ready(service_app)
    connection, channel = rabbit.channel()
    try:
        channel.basic_publish(topology.exchange, "order.confirmed", b"{not an event", mandatory=True)
    finally:
        connection.close()
    # The consumer counts a dead-lettered message just after publishing it, so the queue can show it first.
    assert _wait_until(
        lambda: (
            rabbit.depth(f"{topology.queue}.dead") == 1
            and service_app.registry.get_sample_value("tienda_events_dead_lettered_total") == 1
        )
    )
    assert service_app.registry.get_sample_value("tienda_events_retried_total") == 2
    ((properties, body),) = rabbit.drain(f"{topology.queue}.dead")
    assert body == b"{not an event" and properties.headers["x-tienda-attempts"] == 3
    assert properties.headers["x-tienda-error"] == "invalid_event"
    assert _notifications(service_app) == []


def test_an_event_of_no_known_kind_ends_in_the_dead_letter_queue(service_app, topology):
    assert _ready(service_app)
    _publish(topology, _event("order.shipped", 5, order_id=5, user_id=1))
    assert _wait_until(lambda: rabbit.depth(f"{topology.queue}.dead") == 1)
    assert _notifications(service_app) == []


def test_the_consumers_span_is_a_child_of_the_publish_span_and_its_logs_carry_the_request_id(
    service_app, topology, tracing
):
    assert _ready(service_app)
    event = _event(ORDER_CONFIRMED, 11, order_id=11, user_id=1)
    tracer = tracing[0].get_tracer("test")
    with tracer.start_as_current_span("POST /api/v1/orders"):
        stored = messaging.capture() | {"X-Request-ID": "req-notify-1"}
    with messaging.publishing(tracer, "rabbitmq", topology.exchange, event.id, stored) as headers:
        _publish(topology, event, event, headers=headers)  # the second copy is a duplicate: logged
    assert _wait_until(lambda: service_app.registry.get_sample_value("tienda_events_duplicates_total") == 1)
    spans = tracing[1].get_finished_spans()
    publish = next(s for s in spans if s.kind is SpanKind.PRODUCER)
    processed = [s for s in spans if s.kind is SpanKind.CONSUMER]
    assert len(processed) == 2
    for span in processed:
        assert span.name == f"process {topology.exchange}"
        assert span.parent.span_id == publish.context.span_id
        assert span.context.trace_id == publish.context.trace_id
        assert span.attributes["messaging.operation.type"] == "process"
        assert span.attributes["messaging.message.id"] == event.id
    lines = [json.loads(line) for line in service_app.logs.getvalue().splitlines() if line.strip()]
    duplicate = next(line for line in lines if line.get("event") == "consumer.duplicate")
    assert duplicate["request_id"] == "req-notify-1"
    assert duplicate["trace_id"] == f"{publish.context.trace_id:032x}"


class _Crash(BaseException):
    """What a process death looks like to the code after it: nothing below runs (not even an ``except Exception``)."""


class _DiesAfterApplying(NotificationService):
    """Applies the first event and dies before the consumer can acknowledge it; applies later ones normally."""

    def __init__(self, inner):
        self.inner = inner
        self.died = False

    def apply(self, event):
        applied = self.inner.apply(event)
        if not self.died:
            self.died = True
            raise _Crash()
        return applied


def test_a_consumer_that_dies_before_acknowledging_gets_the_message_again_and_applies_it_once(
    service_app, topology, tracing
):
    for loop in wiring(service_app).loops:
        loop.stop()  # this test turns its own consumer by hand
    consumer = Consumer(
        rabbit.AMQP_URL,
        _DiesAfterApplying(wiring(service_app).service),
        wiring(service_app).metrics,
        tracing[0].get_tracer("test"),
        exchange=topology.exchange,
        queue=topology.queue,
        max_attempts=3,
        retry_delay_seconds=0.2,
    )
    event = _event(ORDER_CONFIRMED, 12, order_id=12, user_id=1)
    consumer.consume_for(0.1)  # declares the topology
    _publish(topology, event)
    try:
        with pytest.raises(_Crash):
            for _ in range(40):
                consumer.consume_for(0.2)
        consumer.close()  # the connection goes with the process: the unacknowledged message returns to the queue
        for _ in range(40):
            consumer.consume_for(0.2)
            if service_app.registry.get_sample_value("tienda_events_duplicates_total") == 1:
                break
    finally:
        consumer.close()
    assert service_app.registry.get_sample_value("tienda_events_duplicates_total") == 1
    assert [n["event_id"] for n in _notifications(service_app)] == [event.id]
    assert rabbit.depth(topology.queue) == 0
