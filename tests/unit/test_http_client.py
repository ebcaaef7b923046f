"""The telemetry HTTP client against real local servers (werkzeug in a thread)."""

import threading

import pytest
import requests
from opentelemetry.trace import SpanKind, StatusCode
from werkzeug.serving import make_server

from telemetry.http import Client
from tests.support.procs import free_port


def _client_spans(harness):
    return [s for s in harness.spans() if s.kind is SpanKind.CLIENT]


def test_calls_to_the_internal_upstream_carry_trace_context_baggage_and_request_id(harness, upstream):
    client = Client(upstream.url, telemetry=harness.telemetry)
    with harness.app.test_request_context("/", headers={"X-Request-ID": "rid-42", "baggage": "synthetic_request=true"}):
        harness.app.preprocess_request()
        client.get("/things/1", route="/things/{id}")
        harness.app.do_teardown_request()
    (headers,) = upstream.headers
    (span,) = _client_spans(harness)
    assert headers["x-request-id"] == "rid-42"
    assert headers["traceparent"].startswith(f"00-{span.context.trace_id:032x}-{span.context.span_id:016x}-")
    assert headers["baggage"] == "synthetic_request=true"
    assert span.name == "GET /things/{id}"
    assert span.attributes["server.port"] == int(upstream.url.rsplit(":", 1)[1])
    assert span.attributes["http.response.status_code"] == 200


def test_calls_to_any_other_host_get_no_propagation_headers(harness, upstream, other_host):
    client = Client(upstream.url, telemetry=harness.telemetry)
    with harness.app.test_request_context("/", headers={"X-Request-ID": "rid-42"}):
        harness.app.preprocess_request()
        client.get(other_host.url + "/elsewhere")
        harness.app.do_teardown_request()
    (headers,) = other_host.headers
    assert "traceparent" not in headers and "x-request-id" not in headers and "baggage" not in headers


def test_an_external_client_never_propagates(harness, upstream):
    client = Client(upstream.url, telemetry=harness.telemetry, internal=False)
    with harness.app.test_request_context("/"):
        harness.app.preprocess_request()
        client.get("/x")
        harness.app.do_teardown_request()
    assert "traceparent" not in upstream.headers[0]


def test_client_calls_are_measured_by_upstream_method_and_status(harness, upstream):
    client = Client(upstream.url, telemetry=harness.telemetry)
    upstream.script(200, 503)
    client.get("/x")
    client.get("/x")
    port = upstream.url.rsplit(":", 1)[1]
    labels = {"server_address": "127.0.0.1", "server_port": port, "http_request_method": "GET"}
    count = "http_client_request_duration_seconds_count"
    assert harness.sample(count, {**labels, "http_response_status_code": "200"}) == 1
    assert harness.sample(count, {**labels, "http_response_status_code": "503"}) == 1
    failed = [s for s in _client_spans(harness) if s.attributes["http.response.status_code"] == 503]
    assert failed[0].status.status_code is StatusCode.ERROR


def test_a_refused_connection_raises_and_is_recorded_as_status_zero(harness):
    client = Client(f"http://127.0.0.1:{free_port()}", telemetry=harness.telemetry)
    with pytest.raises(requests.ConnectionError):
        client.get("/x")
    (span,) = _client_spans(harness)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ConnectionError"
    samples = [
        s
        for m in harness.registry.collect()
        if m.name == "http_client_request_duration_seconds"
        for s in m.samples
        if s.name.endswith("_count")
    ]
    assert samples[0].labels["http_response_status_code"] == "0"


class _TwoAttempts:
    """A policy that makes every call twice, recording each answer's status."""

    def __init__(self):
        self.attempts = []

    def call(self, method, headers, send):
        for attempt in range(2):
            response = send(attempt)
            self.attempts.append(response.status_code)
        return response


def test_a_policy_sees_every_attempt(harness, upstream):
    policy = _TwoAttempts()
    client = Client(upstream.url, telemetry=harness.telemetry, policy=policy)
    assert client.get("/x").status_code == 200
    assert policy.attempts == [200, 200]
    assert [span.attributes.get("http.request.resend_count") for span in _client_spans(harness)] == [None, 1]


def test_every_attempt_of_a_policy_carries_the_callers_headers(harness, upstream):
    client = Client(upstream.url, telemetry=harness.telemetry, policy=_TwoAttempts())
    client.get("/orders/7", headers={"Idempotency-Key": "k-1"})
    assert [headers.get("idempotency-key") for headers in upstream.headers] == ["k-1", "k-1"]


def test_a_call_between_two_instrumented_apps_joins_one_trace(harness):
    from tests.support.sample_harness import Harness

    downstream = Harness()
    server = make_server("127.0.0.1", 0, downstream.app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        harness.app.config["DOWNSTREAM"] = f"http://127.0.0.1:{server.server_port}"
        client = Client(harness.app.config["DOWNSTREAM"], telemetry=harness.telemetry)
        with harness.app.test_request_context("/"):
            harness.app.preprocess_request()
            assert client.get("/items/7", route="/items/{item_id}").json()["id"] == 7
            harness.app.do_teardown_request()
    finally:
        server.shutdown()
    (client_span,) = _client_spans(harness)
    (server_span,) = downstream.spans()
    assert server_span.context.trace_id == client_span.context.trace_id
    assert server_span.parent.span_id == client_span.context.span_id


def test_internal_calls_send_the_sessions_default_headers_and_come_back_with_their_body_read(harness, upstream):
    client = Client(upstream.url, telemetry=harness.telemetry, pool_maxsize=1)
    responses = [client.get("/things/1", params={"page": "2"}) for _ in range(3)]

    assert all(r.status_code == 200 and r.json() == {} for r in responses)
    for headers in upstream.headers:
        assert headers["user-agent"].startswith("python-requests/")
        assert headers["accept"] == "*/*" and headers["connection"] == "keep-alive"
    # One pooled connection served all three: each body was read and its connection returned at once.
    (pool,) = client._adapter.poolmanager.pools._container.values()
    assert pool.num_connections == 1 and pool.num_requests == 3
