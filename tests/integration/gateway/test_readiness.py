"""/health/ready checks every service behind the gateway; /health/live checks none."""

from __future__ import annotations

import pytest

UPSTREAMS = {"users", "products", "orders", "payments"}


def test_ready_is_200_when_every_service_is_live(client, fakes):
    response = client.get("/health/ready")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == UPSTREAMS
    assert all(check["status"] == "ok" for check in body["checks"].values())


@pytest.mark.parametrize("down", sorted(UPSTREAMS))
def test_ready_is_503_naming_the_service_that_is_down(make_gateway, closed_url, down):
    gateway = make_gateway(**{f"{down}_url": closed_url})

    response = gateway.client.get("/health/ready")

    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks[down]["status"] == "fail"
    assert checks[down]["error"].endswith(f"{down} is unreachable")
    assert all(checks[name]["status"] == "ok" for name in UPSTREAMS - {down})


def test_ready_is_503_when_a_service_says_it_is_not_live(client, fakes):
    fakes.orders.live_status = 503

    response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.get_json()["checks"]["orders"]["error"].endswith("orders answered 503")


def _client_requests(gateway) -> float:
    return sum(
        sample.value
        for metric in gateway.registry.collect()
        if metric.name == "http_client_request_duration_seconds"
        for sample in metric.samples
        if sample.name.endswith("_count")
    )


def test_readiness_probes_make_no_spans_and_no_client_metrics(gateway, fakes):
    gateway.client.get("/health/ready")

    assert gateway.spans() == ()
    assert _client_requests(gateway) == 0
    gateway.client.get("/api/v1/products/3")  # real traffic does count
    assert _client_requests(gateway) == 1


def test_live_is_200_even_when_every_service_is_down(make_gateway, closed_url):
    gateway = make_gateway(**{f"{name}_url": closed_url for name in UPSTREAMS})

    assert gateway.client.get("/health/live").status_code == 200
    assert gateway.client.get("/health/ready").status_code == 503
