"""Request IDs and trace context reach the services; client spans and metrics name the route templates."""

from __future__ import annotations

from opentelemetry.trace import SpanKind

from telemetry.resilience import PolicyConfig
from tests.support.gateway import bearer


def test_the_callers_request_id_is_forwarded_to_the_service_and_echoed(client, fakes):
    response = client.get("/api/v1/orders/5", headers={**bearer(), "X-Request-ID": "checkout-7f3a"})

    assert response.headers["X-Request-ID"] == "checkout-7f3a"
    assert fakes.orders.only_call().headers["X-Request-ID"] == "checkout-7f3a"


def test_a_request_without_an_id_gets_one_that_the_service_sees_too(client, fakes):
    response = client.get("/api/v1/products")

    generated = response.headers["X-Request-ID"]
    assert len(generated) == 32
    assert fakes.products.only_call().headers["X-Request-ID"] == generated


def test_both_calls_of_the_details_aggregation_carry_the_same_request_id(client, fakes):
    fakes.orders.reply("GET", "/orders/5", 200, {"id": 5, "saga_id": "5a" * 16})
    fakes.payments.reply("GET", "/payments", 200, {"items": []})

    client.get("/api/v1/orders/5/details", headers={**bearer(), "X-Request-ID": "details-1"})

    assert fakes.orders.only_call().headers["X-Request-ID"] == "details-1"
    assert fakes.payments.only_call().headers["X-Request-ID"] == "details-1"


def test_upstream_calls_are_client_spans_named_by_route_template_in_the_callers_trace(gateway, fakes):
    fakes.orders.reply("GET", "/orders/5", 200, {"id": 5, "saga_id": "5a" * 16})
    fakes.payments.reply("GET", "/payments", 200, {"items": []})

    gateway.client.get("/api/v1/orders/5/details", headers=bearer())

    spans = gateway.spans()
    (server,) = [s for s in spans if s.kind is SpanKind.SERVER]
    clients = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert server.name == "GET /api/v1/orders/<id:order_id>/details"
    assert [s.name for s in clients] == ["GET /orders/{id}", "GET /payments"]
    assert all(s.context.trace_id == server.context.trace_id for s in clients)
    assert all(s.parent.span_id == server.context.span_id for s in clients)
    for span, fake in zip(clients, (fakes.orders, fakes.payments), strict=True):
        traceparent = fake.only_call().headers["traceparent"]
        assert traceparent.startswith(f"00-{span.context.trace_id:032x}-{span.context.span_id:016x}-")


def test_client_metrics_are_labelled_by_upstream_address_method_and_status(gateway, fakes):
    fakes.products.reply("GET", "/products/3", 404, {"error": {"code": "product_not_found", "message": "m",
                                                               "request_id": None}})  # fmt: skip

    gateway.client.get("/api/v1/products/3")

    labels = {
        "server_address": "127.0.0.1",
        "server_port": fakes.products.url.rsplit(":", 1)[1],
        "http_request_method": "GET",
        "http_response_status_code": "404",
    }
    assert gateway.registry.get_sample_value("http_client_request_duration_seconds_count", labels) == 1


def test_each_attempt_of_a_refused_call_is_a_client_sample_with_status_0(make_gateway, closed_url):
    gateway = make_gateway(users_url=closed_url)

    gateway.client.get("/api/v1/users/me", headers=bearer())

    labels = {
        "server_address": "127.0.0.1",
        "server_port": closed_url.rsplit(":", 1)[1],
        "http_request_method": "GET",
        "http_response_status_code": "0",
    }
    # A GET is retried: every attempt the policy makes is a sample.
    attempts = PolicyConfig().max_attempts
    assert gateway.registry.get_sample_value("http_client_request_duration_seconds_count", labels) == attempts


def test_no_token_ever_appears_in_the_log(gateway, fakes):
    headers = bearer()
    token = headers["Authorization"].split(" ", 1)[1]

    gateway.client.get("/api/v1/users/me", headers=headers)
    gateway.client.get("/api/v1/users/me", headers={"Authorization": "Bearer " + token[:-2] + "xx"})

    assert gateway.logs()
    claims = token.split(".")[1]
    assert claims not in gateway.stream.getvalue()
