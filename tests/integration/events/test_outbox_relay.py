"""The transactional outbox and its relay against the local RabbitMQ, on SQLite and PostgreSQL."""

import json

import pytest
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry
from sqlalchemy import MetaData, text

from services.common.db import make_engine
from services.common.events import ORDER_CANCELLED, ORDER_CONFIRMED, PAYMENT_CAPTURED, Outbox, outbox_table
from services.common.relay import RabbitBroker, Relay, RelayMetrics
from telemetry import requestid
from telemetry.health import Degraded
from tests.support import broker as rabbit
from tests.support.procs import free_port


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def outbox(engine):
    metadata = MetaData()
    box = Outbox(outbox_table(metadata))
    metadata.create_all(engine)
    return box


def _relay(engine, outbox, url, topology, tracing, registry=None):
    provider, _ = tracing
    broker = RabbitBroker(url, exchange=topology.exchange, timeout_seconds=1.0) if url else None
    registry = registry or CollectorRegistry()
    return Relay("orders", engine, outbox, broker, RelayMetrics(registry), provider.get_tracer("test")), registry


def _record(engine, outbox, *events):
    with engine.begin() as connection:
        return [outbox.add(connection, event_type, aggregate, data) for event_type, aggregate, data in events]


def test_an_event_written_in_a_transaction_that_rolls_back_does_not_exist(engine, outbox):
    with pytest.raises(RuntimeError), engine.begin() as connection:
        outbox.add(connection, ORDER_CONFIRMED, 1, {"order_id": 1})
        raise RuntimeError("the state change failed")
    with engine.connect() as connection:
        assert outbox.pending(connection, 10) == []


def test_versions_count_each_aggregates_events_from_one(engine, outbox):
    first, second, other = _record(
        engine,
        outbox,
        (ORDER_CONFIRMED, 7, {"order_id": 7}),
        (ORDER_CANCELLED, 7, {"order_id": 7}),
        (PAYMENT_CAPTURED, 7, {"order_id": 7}),
    )
    assert (first.version, second.version, other.version) == (1, 2, 1)  # a payment 7 is another aggregate


def test_the_relay_publishes_pending_events_in_order_and_marks_them_sent_once_confirmed(
    engine, outbox, topology, tracing
):
    rabbit.bind_queue(topology)
    token = requestid.set_current("req-outbox-1")
    tracer = tracing[0].get_tracer("request")
    with tracer.start_as_current_span("POST /orders") as request_span:
        recorded = _record(engine, outbox, *[(ORDER_CONFIRMED, n, {"order_id": n}) for n in range(1, 6)])
    requestid.reset(token)
    relay, registry = _relay(engine, outbox, rabbit.AMQP_URL, topology, tracing)
    try:
        assert relay.run_once() == 5
    finally:
        relay.close()

    messages = rabbit.drain(topology.queue)
    assert [json.loads(body)["id"] for _, body in messages] == [e.id for e in recorded]
    properties, body = messages[0]
    assert properties.message_id == recorded[0].id and properties.type == ORDER_CONFIRMED
    assert properties.delivery_mode == 2
    assert properties.headers["X-Request-ID"] == "req-outbox-1"
    assert json.loads(body) == json.loads(recorded[0].model_dump_json())
    with engine.connect() as connection:
        assert outbox.pending(connection, 10) == []
    assert registry.get_sample_value("tienda_events_confirmed_total", {"type": ORDER_CONFIRMED}) == 5
    assert registry.get_sample_value("tienda_outbox_backlog") == 0

    publishes = [s for s in tracing[1].get_finished_spans() if s.kind is SpanKind.PRODUCER]
    assert len(publishes) == 5
    publish = publishes[0]
    assert publish.name == f"publish {topology.exchange}"
    assert publish.parent.span_id == request_span.get_span_context().span_id
    assert publish.context.trace_id == request_span.get_span_context().trace_id
    assert publish.attributes["messaging.system"] == "rabbitmq"
    assert publish.attributes["messaging.operation.type"] == "send"
    assert publish.attributes["messaging.message.id"] == recorded[0].id
    assert properties.headers["traceparent"].split("-")[2] == f"{publish.context.span_id:016x}"


def test_with_the_broker_down_events_wait_and_readiness_is_degraded_then_all_arrive(engine, outbox, topology, tracing):
    rabbit.bind_queue(topology)
    _record(engine, outbox, *[(ORDER_CONFIRMED, n, {"order_id": n}) for n in range(1, 4)])
    down, registry = _relay(engine, outbox, f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F", topology, tracing)
    assert down.run_once() == 0
    assert registry.get_sample_value("tienda_outbox_backlog") == 3
    assert registry.get_sample_value("tienda_outbox_oldest_age_seconds") > 0
    assert registry.get_sample_value("tienda_events_publish_failures_total", {"reason": "unreachable"}) == 1
    with pytest.raises(Degraded, match="unreachable"):
        down.check()
    assert rabbit.depth(topology.queue) == 0

    _record(engine, outbox, (ORDER_CONFIRMED, 4, {"order_id": 4}))
    back, registry = _relay(engine, outbox, rabbit.AMQP_URL, topology, tracing)
    try:
        assert back.run_once() == 4
        back.check()
    finally:
        back.close()
    assert [json.loads(body)["aggregate_id"] for _, body in rabbit.drain(topology.queue)] == ["1", "2", "3", "4"]


def test_an_event_no_queue_would_take_is_not_marked_sent(engine, outbox, topology, tracing):
    _record(engine, outbox, (ORDER_CONFIRMED, 1, {"order_id": 1}))
    relay, registry = _relay(engine, outbox, rabbit.AMQP_URL, topology, tracing)
    try:
        assert relay.run_once() == 0
    finally:
        relay.close()
    assert registry.get_sample_value("tienda_events_publish_failures_total", {"reason": "unroutable"}) == 1
    with engine.connect() as connection:
        assert len(outbox.pending(connection, 10)) == 1


def test_without_a_broker_configured_events_wait_and_readiness_says_why(engine, outbox, topology, tracing):
    _record(engine, outbox, (ORDER_CONFIRMED, 1, {"order_id": 1}))
    relay, registry = _relay(engine, outbox, None, topology, tracing)
    assert relay.run_once() == 0
    assert registry.get_sample_value("tienda_outbox_backlog") == 1
    with pytest.raises(Degraded, match="AMQP_URL"):
        relay.check()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_on_postgresql_a_second_relay_waits_while_one_holds_the_databases_relay_lock(engine, outbox, topology, tracing):
    rabbit.bind_queue(topology)
    _record(engine, outbox, (ORDER_CONFIRMED, 1, {"order_id": 1}))
    relay, _ = _relay(engine, outbox, rabbit.AMQP_URL, topology, tracing)
    try:
        with engine.connect() as other:
            assert other.execute(text("SELECT pg_try_advisory_lock(hashtext('relay:orders'))")).scalar()
            assert relay.run_once() == 0
            other.execute(text("SELECT pg_advisory_unlock(hashtext('relay:orders'))"))
            other.commit()
        assert relay.run_once() == 1
    finally:
        relay.close()
