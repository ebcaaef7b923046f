"""Spans and context for messages: one trace from the request that caused an event to the consumer that handled it.

A message carries the W3C trace context and the ``X-Request-ID`` in its headers, as an HTTP call does.
The producer's span is named ``publish {destination}`` (kind PRODUCER), the consumer's ``process
{destination}`` (kind CONSUMER), following the OpenTelemetry messaging semantic conventions, with
``messaging.system``, ``messaging.destination.name``, ``messaging.operation.type`` (``send``/``process``),
``messaging.operation.name``, ``messaging.message.id`` and, for RabbitMQ, the routing key.

Events are published after the request that caused them has ended (an outbox relay), so the producer's
span is started as a child of the context the event stored when it was recorded (:func:`capture`), not of
whatever runs the relay::

    stored = messaging.capture()                     # in the request, beside the state change
    ...
    with messaging.publishing(tracer, "rabbitmq", "tienda.events", event_id, stored,
                              routing_key="order.confirmed") as headers:
        channel.basic_publish(..., properties=pika.BasicProperties(headers=headers))

    # in the consumer
    with messaging.processing(tracer, "rabbitmq", "tienda.events", message_id, properties.headers,
                              routing_key=method.routing_key) as span:
        handle(body)                                 # log lines carry the request id and trace id

The consumer's span is a child of the producer's, so the trace shows the asynchronous hop; the request ID
of the original request is current while the message is handled.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from . import requestid

#: The header that carries the request ID in a message, spelled as over HTTP.
REQUEST_ID_HEADER = requestid.HEADER


def capture() -> dict[str, str]:
    """The current trace context and request ID as message headers (``traceparent``, ``X-Request-ID``, ...)."""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    rid = requestid.current()
    if rid:
        headers[REQUEST_ID_HEADER] = rid
    return headers


def _attributes(
    system: str, destination: str, operation: str, message_id: str, routing_key: str | None
) -> dict[str, str]:
    attributes = {
        "messaging.system": system,
        "messaging.destination.name": destination,
        "messaging.operation.type": operation,
        "messaging.operation.name": "publish" if operation == "send" else operation,
        "messaging.message.id": message_id,
    }
    if routing_key is not None and system == "rabbitmq":
        attributes["messaging.rabbitmq.destination.routing_key"] = routing_key
    return attributes


@contextmanager
def publishing(
    tracer: trace.Tracer,
    system: str,
    destination: str,
    message_id: str,
    stored: Mapping[str, str],
    *,
    routing_key: str | None = None,
) -> Iterator[dict[str, str]]:
    """A ``publish {destination}`` span, child of the ``stored`` context; yields the headers to send.

    The headers carry this span's context (so the consumer becomes its child) and the stored request ID.
    An exception leaving the block marks the span as an error and propagates.
    """
    parent = propagate.extract(dict(stored))
    with tracer.start_as_current_span(
        f"publish {destination}",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes=_attributes(system, destination, "send", message_id, routing_key),
        record_exception=True,
        set_status_on_exception=True,
    ):
        headers: dict[str, str] = {}
        propagate.inject(headers)
        rid = _header(stored, REQUEST_ID_HEADER)
        if rid:
            headers[REQUEST_ID_HEADER] = rid
        yield headers


@contextmanager
def processing(
    tracer: trace.Tracer,
    system: str,
    destination: str,
    message_id: str,
    headers: Mapping[str, Any] | None,
    *,
    routing_key: str | None = None,
) -> Iterator[Span]:
    """A ``process {destination}`` span, child of the context in the message's ``headers``.

    The message's request ID (when well-formed) is the current one inside the block, so log lines written
    while handling it carry it.
    """
    carrier = {str(k): v for k, v in (headers or {}).items() if isinstance(v, str)}
    rid = _header(carrier, REQUEST_ID_HEADER)
    token = requestid.set_current(rid if requestid.is_valid(rid) else None)
    try:
        with tracer.start_as_current_span(
            f"process {destination}",
            context=propagate.extract(carrier),
            kind=SpanKind.CONSUMER,
            attributes=_attributes(system, destination, "process", message_id, routing_key),
            record_exception=True,
            set_status_on_exception=False,
        ) as span:
            if rid and requestid.is_valid(rid):
                span.set_attribute(requestid.SPAN_ATTRIBUTE, rid)
            try:
                yield span
            except BaseException as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                span.set_attribute("error.type", type(exc).__qualname__)
                raise
    finally:
        requestid.reset(token)


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted and isinstance(value, str):
            return value
    return None
