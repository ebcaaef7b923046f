"""An admin faults a service of the running shop through the gateway, and sees it; anyone else changes nothing.

The rules are always cleared at the end: the shop is shared by every e2e test of the run.
"""

from __future__ import annotations

import time

import pytest
import requests

from tests.support.auth import ADMIN
from tests.support.shop import bearer

DELAY_SECONDS = 0.4
TARGET = "GET /products/{product_id}"
RULE = {"target": TARGET, "fault": "latency", "ratio": 1.0, "delay_seconds": DELAY_SECONDS, "jitter_seconds": 0.0}


def injected(shop, service: str, fault: str, target: str) -> float | None:
    """The value of ``tienda_faults_injected_total{fault, target}`` on ``service``'s /metrics (None: no series)."""
    text = requests.get(shop.services[service].url + "/metrics", timeout=5).text
    prefix = f'tienda_faults_injected_total{{fault="{fault}",target="{target}"}} '
    return next((float(line.removeprefix(prefix)) for line in text.splitlines() if line.startswith(prefix)), None)


@pytest.fixture
def products_rules(shop):
    """The products service's rules through the gateway; cleared after the test whatever it did."""
    url = shop.url("/admin/faults/products")
    yield url
    shop.http.delete(url, headers=bearer(shop.admin_token()), timeout=10)


def test_an_admin_sets_a_latency_fault_on_products_through_the_gateway_and_product_reads_get_slower(
    shop, products_rules
):
    product = shop.create_product(stock=1)
    admin = bearer(shop.admin_token())
    before = injected(shop, "products", "latency", TARGET) or 0.0

    put = shop.http.put(products_rules, json={"faults": [RULE]}, headers=admin, timeout=10)
    started = time.monotonic()
    read = shop.http.get(shop.url(f"/products/{product['id']}"), timeout=10)
    took = time.monotonic() - started
    shown = shop.http.get(products_rules, headers=admin, timeout=10)
    cleared = shop.http.delete(products_rules, headers=admin, timeout=10)

    assert (put.status_code, put.json()) == (200, {"service": "products", "faults": [RULE]})
    assert shown.json() == put.json()
    assert read.status_code == 200 and read.json()["id"] == product["id"]
    assert took >= DELAY_SECONDS  # a lower bound only: the handler slept at least the delay
    assert injected(shop, "products", "latency", TARGET) == before + 1
    lines = [r for r in shop.logs("products") if r.get("event") == "fault.injected" and r.get("target") == TARGET]
    assert lines and lines[-1]["request_id"] == read.headers["X-Request-ID"]
    assert cleared.json() == {"service": "products", "faults": []}
    shop.http.get(shop.url(f"/products/{product['id']}"), timeout=10)
    assert injected(shop, "products", "latency", TARGET) == before + 1  # cleared: the next read is not faulted


def test_rules_products_refuses_come_back_as_its_422_and_leave_its_rules_as_they_were(shop, products_rules):
    admin = bearer(shop.admin_token())
    shop.http.put(products_rules, json=[RULE], headers=admin, timeout=10)

    refused = shop.http.put(products_rules, json=[{**RULE, "delay_seconds": -1}], headers=admin, timeout=10)

    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_faults"
    assert "faults[0].delay_seconds" in refused.json()["error"]["message"]
    assert shop.http.get(products_rules, headers=admin, timeout=10).json()["faults"] == [RULE]


def test_a_customer_is_refused_403_and_no_rule_changes_anywhere(shop, products_rules):
    _, token = shop.register("Eve")

    answers = [
        shop.http.request(method, products_rules, json=[{**RULE, "fault": "drop"}], headers=bearer(token), timeout=10)
        for method in ("PUT", "DELETE", "GET")
    ]

    assert [(a.status_code, a.json()["error"]["code"]) for a in answers] == [(403, "admin_only")] * 3
    direct = requests.get(shop.services["products"].url + "/admin/faults", headers=ADMIN, timeout=5).json()
    assert direct == {"service": "products", "faults": []}
    assert injected(shop, "products", "drop", TARGET) is None  # never set, so not even a series at zero
