"""Spans from a real gunicorn worker reach a real OTLP receiver, linked across services."""

import json

import requests


def test_spans_from_the_gunicorn_worker_arrive_with_the_right_resource(start_sample, otlp_receiver):
    service = start_sample("catalog")
    response = requests.get(service.url + "/items/3", timeout=5)
    assert response.status_code == 200
    spans = otlp_receiver.wait_for(lambda spans: any(s.name == "GET /items/<int:item_id>" for s in spans))
    (span,) = [s for s in spans if s.name == "GET /items/<int:item_id>"]
    assert span.kind == "SERVER"
    assert span.resource["service.name"] == "catalog"
    assert span.resource["service.version"] == "9.9.9"
    assert span.resource["deployment.environment.name"] == "test"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["http.request.header.x-request-id"] == [response.headers["X-Request-ID"]]


def test_a_call_across_two_services_yields_one_connected_trace(start_sample, otlp_receiver):
    backend = start_sample("backend")
    frontend = start_sample("frontend", SAMPLE_DOWNSTREAM_URL=backend.url)
    response = requests.get(frontend.url + "/chain", headers={"X-Request-ID": "chain-1"}, timeout=5)
    assert response.json()["downstream"]["id"] == 7

    def complete(spans):
        return {(s.service, s.kind) for s in spans} >= {
            ("frontend", "SERVER"),
            ("frontend", "CLIENT"),
            ("backend", "SERVER"),
        }

    spans = otlp_receiver.wait_for(complete)
    front = next(s for s in spans if s.service == "frontend" and s.kind == "SERVER")
    client = next(s for s in spans if s.service == "frontend" and s.kind == "CLIENT")
    back = next(s for s in spans if s.service == "backend" and s.kind == "SERVER")
    assert front.trace_id == client.trace_id == back.trace_id
    assert client.parent_span_id == front.span_id
    assert back.parent_span_id == client.span_id
    assert client.name == "GET /items/{item_id}"

    # Both services' logs for that request share its trace and request IDs.
    for service in (frontend, backend):
        lines = [json.loads(line) for line in service.log_lines() if line.startswith("{")]
        access = [r for r in lines if r.get("event") == "http.access" and r["request_id"] == "chain-1"]
        assert access and all(r["trace_id"] == front.trace_id for r in access)


def test_spans_buffered_in_the_worker_are_flushed_when_it_stops(start_sample, otlp_receiver):
    service = start_sample("flush", OTEL_BSP_SCHEDULE_DELAY="60000")  # nothing leaves before shutdown
    for i in range(5):
        requests.get(f"{service.url}/items/{i}", timeout=5)
    service.stop()
    spans = otlp_receiver.wait_for(lambda spans: len([s for s in spans if s.service == "flush"]) >= 5, timeout=10)
    assert len([s for s in spans if s.service == "flush"]) == 5
