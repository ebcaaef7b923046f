from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.sample_harness import Harness

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_a_request_makes_one_server_span_named_by_method_and_route_template(harness):
    harness.client.get("/items/42?color=red", headers={"User-Agent": "pytest"})
    (span,) = harness.spans()
    assert span.name == "GET /items/<int:item_id>"
    assert span.kind is SpanKind.SERVER
    assert span.attributes["http.request.method"] == "GET"
    assert span.attributes["http.route"] == "/items/<int:item_id>"
    assert span.attributes["url.path"] == "/items/42"
    assert span.attributes["url.query"] == "color=red"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["user_agent.original"] == "pytest"
    assert span.status.status_code is StatusCode.UNSET


def test_an_incoming_traceparent_makes_the_server_span_its_child(harness):
    harness.client.get("/items/1", headers={"traceparent": TRACEPARENT})
    (span,) = harness.spans()
    assert format(span.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert format(span.parent.span_id, "016x") == "b7ad6b7169203331"
    assert span.parent.is_remote


def test_a_client_error_leaves_the_server_span_status_unset(harness):
    assert harness.client.get("/teapot").status_code == 418
    (span,) = harness.spans()
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes["http.response.status_code"] == 418


def test_an_unhandled_exception_marks_the_span_as_error_with_the_exception_recorded(harness):
    assert harness.client.get("/boom").status_code == 500
    (span,) = harness.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "RuntimeError"
    assert [e.name for e in span.events] == ["exception"]


def test_an_unknown_path_gets_a_span_named_by_the_method_only_without_a_route(harness):
    assert harness.client.get("/wp-admin/setup.php").status_code == 404
    (span,) = harness.spans()
    assert span.name == "GET"
    assert "http.route" not in span.attributes


def test_a_nonstandard_method_is_reported_as_other(harness):
    harness.client.open("/items/1", method="PROPFIND")
    (span,) = harness.spans()
    assert span.name == "HTTP"
    assert span.attributes["http.request.method"] == "_OTHER"
    assert span.attributes["http.request.method_original"] == "PROPFIND"


def test_health_and_metrics_endpoints_make_no_spans(harness):
    for path in ("/health/live", "/health/ready", "/metrics"):
        assert harness.client.get(path).status_code == 200
    assert harness.spans() == ()


def test_the_request_id_is_recorded_on_the_server_span(harness):
    harness.client.get("/items/1", headers={"X-Request-ID": "abc-123"})
    (span,) = harness.spans()
    assert span.attributes["http.request.header.x-request-id"] == ("abc-123",)


def test_an_unsampled_request_still_succeeds_and_records_nothing(monkeypatch):
    h = Harness(sampler=ALWAYS_OFF)
    assert h.client.get("/items/3").status_code == 200
    assert h.spans() == ()
    h.provider.shutdown()


def test_instrumenting_the_same_app_twice_changes_nothing(harness):
    import telemetry

    again = telemetry.instrument(harness.app, service_name="other")
    assert again is harness.telemetry
    harness.client.get("/items/1")
    assert len(harness.spans()) == 1
    assert len(harness.access_logs()) == 1


def test_an_app_called_inside_another_apps_request_keeps_each_requests_span_apart(harness):
    inner = Harness()

    @harness.app.get("/nested")
    def nested():
        return {"inner": inner.client.get("/boom").status_code}

    assert harness.client.get("/nested").get_json() == {"inner": 500}
    (outer_span,) = harness.spans()
    (inner_span,) = inner.spans()
    assert (outer_span.name, outer_span.attributes["http.response.status_code"]) == ("GET /nested", 200)
    assert (inner_span.name, inner_span.attributes["http.response.status_code"]) == ("GET /boom", 500)
    assert inner_span.parent.span_id == outer_span.context.span_id
    inner.provider.shutdown()
