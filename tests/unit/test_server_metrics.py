import random
import re
import string
import time

import prometheus_client
import pytest
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from telemetry.metrics import DURATION_BUCKETS_SECONDS, ServerDurations, created_series
from tests.support.sample_harness import Harness

DURATION = "http_server_request_duration_seconds"


def _count(h, method, route, status):
    return h.sample(
        f"{DURATION}_count",
        {"http_request_method": method, "http_route": route, "http_response_status_code": status},
    )


def _series(h):
    return {
        tuple(sorted(s.labels.items()))
        for metric in h.registry.collect()
        if metric.name == DURATION
        for s in metric.samples
        if s.name.endswith("_count")
    }


def test_requests_are_counted_by_method_route_template_and_status(harness):
    harness.client.get("/items/1")
    harness.client.get("/items/2")
    harness.client.get("/boom")
    assert _count(harness, "GET", "/items/<int:item_id>", "200") == 2
    assert _count(harness, "GET", "/boom", "500") == 1


def test_a_thousand_random_unknown_paths_and_verbs_add_at_most_one_series(harness):
    harness.client.get("/items/1")
    before = _series(harness)
    rng = random.Random(7)
    for _ in range(1000):
        path = "/" + "".join(rng.choices(string.ascii_lowercase + "/", k=12))
        harness.client.get(path)
    harness.client.open("/x", method="FOO")
    harness.client.open("/y", method="BAR")
    added = _series(harness) - before
    assert len(added) <= 2  # GET 404 "unmatched" and _OTHER 404 "unmatched"
    assert _count(harness, "GET", "unmatched", "404") == 1000
    assert _count(harness, "_OTHER", "unmatched", "404") == 2
    assert all(dict(labels)["http_route"] == "unmatched" for labels in added)


def test_observations_of_sampled_requests_carry_the_trace_id_as_exemplar(harness):
    harness.client.get("/items/5")
    (span,) = harness.spans()
    exemplars = [
        s.exemplar
        for metric in harness.registry.collect()
        if metric.name == DURATION
        for s in metric.samples
        if s.exemplar is not None
    ]
    assert [e.labels["trace_id"] for e in exemplars] == [format(span.context.trace_id, "032x")]


def test_unsampled_requests_are_measured_without_exemplars():
    h = Harness(sampler=ALWAYS_OFF)
    h.client.get("/items/5")
    samples = [s for m in h.registry.collect() if m.name == DURATION for s in m.samples]
    assert _count(h, "GET", "/items/<int:item_id>", "200") == 1
    assert all(s.exemplar is None for s in samples)


def test_active_requests_return_to_zero_after_each_request(harness):
    harness.client.get("/items/1")
    harness.client.get("/boom")
    assert harness.sample("http_server_active_requests", {"http_request_method": "GET"}) == 0


def test_active_requests_count_the_requests_being_handled(harness):
    seen = []

    @harness.app.get("/peek")
    def peek():
        seen.append(harness.sample("http_server_active_requests", {"http_request_method": "GET"}))
        return "ok"

    harness.client.get("/peek")
    harness.client.post("/login", json={})
    assert seen == [1]
    assert harness.sample("http_server_active_requests", {"http_request_method": "GET"}) == 0
    assert harness.sample("http_server_active_requests", {"http_request_method": "POST"}) == 0


def test_probes_are_not_counted_as_traffic(harness):
    harness.client.get("/metrics")
    harness.client.get("/health/live")
    assert _series(harness) == set()


def test_metrics_are_served_as_openmetrics_with_exemplars_when_asked(harness):
    harness.client.get("/items/9")
    response = harness.client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.content_type.startswith("application/openmetrics-text")
    text = response.get_data(as_text=True)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    buckets = [s for s in families[DURATION].samples if s.exemplar is not None]
    assert buckets and buckets[0].exemplar.labels["trace_id"] == format(harness.spans()[0].context.trace_id, "032x")
    assert families["tienda_build"].samples[0].labels["service"] == "sample"


def test_metrics_are_served_in_the_classic_text_format_by_default(harness):
    response = harness.client.get("/metrics")
    assert response.content_type.startswith("text/plain")
    body = response.get_data(as_text=True)
    assert re.search(r'tienda_build_info\{environment="development",service="sample",version="[^"]+"\} 1.0', body)
    assert 'tienda_telemetry_spans_dropped_total{reason="queue_full"} 0.0' in body


def test_a_default_registry_includes_process_and_gc_metrics():
    from telemetry.metrics import HttpMetrics

    names = {m.name for m in HttpMetrics("svc", "1.0").registry.collect()}
    assert {
        "process_resident_memory_bytes",
        "process_cpu_seconds",
        "python_gc_collections",
        "python_info",
    } <= names


@pytest.mark.parametrize("created", [True, False])
def test_request_durations_are_exposed_as_a_prometheus_client_histogram_would_expose_them(monkeypatch, created):
    monkeypatch.setattr(time, "time", lambda: 1764650000.25)  # the _created series and exemplar timestamps
    if not created:
        prometheus_client.disable_created_metrics()
    try:
        assert created_series() is created, "prometheus_client moved its _created switch: see telemetry.metrics"
        ours, theirs = CollectorRegistry(auto_describe=True), CollectorRegistry(auto_describe=True)
        durations = ServerDurations(ours)
        histogram = Histogram(
            DURATION,
            "Duration of HTTP server requests.",
            ("http_request_method", "http_route", "http_response_status_code"),
            buckets=DURATION_BUCKETS_SECONDS,
            registry=theirs,
        )
        sampled = "0af7651916cd43dd8448eb211c80319c"
        observations = [
            ("GET", "/items/<int:item_id>", 200, 0.0031, sampled),
            ("GET", "/items/<int:item_id>", 200, 0.005, None),  # on a bound: counted in that bucket
            ("GET", "/items/<int:item_id>", 200, 0.0049, "b7ad6b7169203331b7ad6b7169203331"),  # the latest wins
            ("POST", "/login", 401, 7.5, sampled),
            ("GET", "unmatched", 404, 0.0, None),
            ("DELETE", "/items/<int:item_id>", 500, 12.0, sampled),  # past the last bound: +Inf only
            ("GET", "/items/<int:item_id>", 503, float("inf"), None),
            ("GET", "/items/<int:item_id>", 200, float("nan"), None),  # in the sum, in no bucket
        ]
        for method, route, status, seconds, trace_id in observations:
            durations.observe(method, route, status, seconds, trace_id)
            exemplar = {"trace_id": trace_id} if trace_id else None
            histogram.labels(method, route, str(status)).observe(seconds, exemplar)
        assert generate_latest(ours) == generate_latest(theirs)
        assert generate_openmetrics(ours) == generate_openmetrics(theirs)
        with pytest.raises(ValueError, match="Duplicated timeseries"):
            Histogram(DURATION, "again", registry=ours)
    finally:
        prometheus_client.enable_created_metrics()
