"""Scraping a real gunicorn worker: exemplars that point at received traces, bounded series."""

import random
import string

import requests
from prometheus_client.openmetrics.parser import text_string_to_metric_families

OPENMETRICS = {"Accept": "application/openmetrics-text; version=1.0.0; charset=utf-8"}


def _families(url):
    response = requests.get(url + "/metrics", headers=OPENMETRICS, timeout=5)
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    return {f.name: f for f in text_string_to_metric_families(response.text)}


def test_openmetrics_exemplars_carry_trace_ids_the_collector_received(start_sample, otlp_receiver):
    service = start_sample("scraped")
    for i in range(5):
        requests.get(f"{service.url}/items/{i}", timeout=5)
    families = _families(service.url)
    exemplar_ids = {
        s.exemplar.labels["trace_id"]
        for s in families["http_server_request_duration_seconds"].samples
        if s.exemplar is not None
    }
    assert exemplar_ids
    spans = otlp_receiver.wait_for(lambda spans: exemplar_ids <= {s.trace_id for s in spans})
    assert exemplar_ids <= {s.trace_id for s in spans if s.service == "scraped"}


def test_a_thousand_unknown_paths_add_at_most_one_duration_series(start_sample):
    service = start_sample("scanned", LOG_LEVEL="WARNING")
    requests.get(service.url + "/items/1", timeout=5)

    def series():
        family = _families(service.url)["http_server_request_duration_seconds"]
        return {tuple(sorted(s.labels.items())) for s in family.samples if s.name.endswith("_count")}

    before = series()
    rng = random.Random(1)
    with requests.Session() as session:
        for _ in range(1000):
            path = "/" + "/".join("".join(rng.choices(string.ascii_letters, k=6)) for _ in range(2))
            assert session.get(service.url + path, timeout=5).status_code == 404
    added = series() - before
    assert len(added) == 1
    assert dict(next(iter(added)))["http_route"] == "unmatched"


def test_build_info_and_process_metrics_are_exposed(start_sample):
    service = start_sample("info")
    families = _families(service.url)
    assert families["tienda_build"].samples[0].labels == {"service": "info", "version": "9.9.9", "environment": "test"}
    assert families["process_resident_memory_bytes"].samples[0].value > 0
