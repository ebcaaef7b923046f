"""The gRPC client interceptor: the call's timeout is the request's remaining budget, metadata carries the trace
and the request ID, and a call with no budget left is never sent."""

from collections import namedtuple

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from telemetry import deadline, requestid
from telemetry.grpc import ClientInterceptor, RpcMetrics

METHOD = "/tienda.products.v1.ProductService/GetProduct"
Details = namedtuple("Details", "method timeout metadata credentials wait_for_ready compression")


class Done:
    def code(self):
        return grpc.StatusCode.OK

    def details(self):
        return ""


def intercepted(timeout):
    sent = []
    tracer = TracerProvider().get_tracer("test")
    interceptor = ClientInterceptor(tracer, RpcMetrics(CollectorRegistry(), [METHOD]))

    def continuation(details, request):
        sent.append(details)
        return Done()

    interceptor.intercept_unary_unary(continuation, Details(METHOD, timeout, None, None, None, None), object())
    return sent


def test_the_timeout_is_the_remaining_budget_when_that_is_shorter():
    with deadline.budget(0.25):
        (sent,) = intercepted(timeout=5.0)
    assert 0 < sent.timeout <= 0.25


def test_the_callers_timeout_stays_when_the_budget_is_longer():
    with deadline.budget(30):
        (sent,) = intercepted(timeout=2.0)
    assert sent.timeout == 2.0


def test_a_call_without_a_deadline_keeps_its_timeout_and_carries_trace_context_and_request_id():
    token = requestid.set_current("rid-123")
    try:
        (sent,) = intercepted(timeout=None)
    finally:
        requestid.reset(token)
    metadata = dict(sent.metadata)
    assert sent.timeout is None
    assert metadata["x-request-id"] == "rid-123"
    assert metadata["traceparent"].startswith("00-")


def test_a_call_with_no_budget_left_is_not_sent():
    with deadline.budget(0), pytest.raises(deadline.DeadlineExceeded) as refused:
        intercepted(timeout=5.0)
    assert refused.value.sent is False
