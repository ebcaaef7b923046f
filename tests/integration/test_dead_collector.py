"""With no collector listening, requests keep working, drops are counted and the log stays bounded."""

import json
import time

import requests

from tests.support.procs import free_port


def test_requests_succeed_and_logs_stay_bounded_when_the_collector_is_down(start_sample):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    service = start_sample(
        "lonely",
        OTEL_EXPORTER_OTLP_ENDPOINT=dead,
        OTEL_EXPORTER_OTLP_TIMEOUT="1",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE="20",
    )
    with requests.Session() as session:
        for i in range(300):
            assert session.get(f"{service.url}/items/{i}", timeout=5).status_code == 200

    deadline = time.monotonic() + 20
    dropped = 0.0
    while time.monotonic() < deadline and dropped == 0:
        text = requests.get(service.url + "/metrics", timeout=5).text
        line = next(
            x for x in text.splitlines() if x.startswith('tienda_telemetry_spans_dropped_total{reason="export_failed"}')
        )
        dropped = float(line.rsplit(" ", 1)[1])
        time.sleep(0.2)  # polling interval while the exporter gives up on its retries
    assert dropped > 0

    lines = [json.loads(x) for x in service.log_lines() if x.startswith("{")]
    assert len([r for r in lines if r.get("event") == "http.access"]) == 300
    noise = [r for r in lines if r["logger"].startswith(("opentelemetry", "telemetry.tracing"))]
    assert len(noise) <= 6, [r["message"] for r in noise]
