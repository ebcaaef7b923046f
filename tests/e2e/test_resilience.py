"""Breakers, retries, bulkheads and stale reads in the running shop (real gunicorn processes, SQLite).

Orders and the gateway run with a breaker that opens after BREAKER_FAILURES consecutive failures and stays open
BREAKER_RESET_SECONDS; what is asserted is what the services' /metrics, the databases and the answers show, never
how long anything took.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.support.chaos import scrape
from tests.support.shop import Shop, bearer, running_shop

pytestmark = pytest.mark.timeout(180)

BREAKER_FAILURES = 3
#: Long enough that the six refused orders all fall in one open period, even on a loaded machine.
BREAKER_RESET_SECONDS = 8
BULKHEAD = 2
RESILIENCE_ENV = {
    "BREAKER_FAILURE_THRESHOLD": str(BREAKER_FAILURES),
    "BREAKER_RESET_SECONDS": str(BREAKER_RESET_SECONDS),
}


@pytest.fixture(scope="module")
def resilient_shop(tmp_path_factory, e2e_receiver):
    env = {
        "orders": {**RESILIENCE_ENV, "RECOVERY_INTERVAL_SECONDS": "0"},
        "gateway": {**RESILIENCE_ENV, "BULKHEAD_MAX_CONCURRENT": str(BULKHEAD)},
    }
    with running_shop("sqlite", tmp_path_factory.mktemp("resilient"), e2e_receiver, extra_env=env) as shop:
        yield shop


def sample(shop: Shop, service: str, metric: str, **labels: str) -> int:
    """One sample of ``metric`` at ``service``'s /metrics (0 when absent)."""
    wanted = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return scrape(shop.services[service].url, metric)[wanted]


def attempts_at(shop: Shop, caller: str, callee: str, status: str) -> int:
    """Calls ``caller`` sent to ``callee`` that ended with ``status`` (``0``: no answer), by its client metric."""
    port = shop.services[callee].url.rsplit(":", 1)[1]
    return sample(
        shop,
        caller,
        "http_client_request_duration_seconds_count",
        server_address="127.0.0.1",
        server_port=port,
        http_request_method="POST",
        http_response_status_code=status,
    )


def test_payments_killed_opens_the_breaker_orders_fail_fast_and_release_stock_then_heal(resilient_shop):
    shop = resilient_shop
    product = shop.create_product(stock=50)
    _, token = shop.register("Bea")
    line = [{"product_id": product["id"], "quantity": 1}]
    assert shop.order(token, line).status_code == 201
    shop.kill("payments")

    answers = [shop.order(token, line) for _ in range(6)]

    assert {a.status_code for a in answers} == {503}
    assert all(a.json()["error"]["details"] == {"upstream": "payments"} for a in answers)
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers[1:])  # refused by the open breaker
    # The breaker opened once, after exactly BREAKER_FAILURES refused connections (the first order's charge and
    # its retries); every later charge was refused in the client without being sent.
    assert sample(shop, "orders", "tienda_breaker_transitions_total", upstream="payments", to="open") == 1
    assert sample(shop, "orders", "tienda_breaker_state", upstream="payments") == 2
    assert attempts_at(shop, "orders", "payments", "0") == BREAKER_FAILURES
    # No order left pending, no stock held for nothing; the gateway's breaker to orders never opened.
    orders = shop.http.get(shop.url("/orders"), headers=bearer(token), params={"limit": 100}, timeout=10).json()
    assert sorted(o["status"] for o in orders["items"]) == ["confirmed"] + ["failed"] * 6
    assert shop.product(product["id"])["stock"] == 49
    assert sample(shop, "gateway", "tienda_breaker_transitions_total", upstream="orders", to="open") == 0

    shop.restart("payments")
    healed = None
    for _ in range(60):  # the breaker half-opens after its reset; the trial charge closes it
        healed = shop.order(token, line)
        if healed.status_code == 201:
            break
        time.sleep(0.5)

    assert healed is not None and healed.status_code == 201
    assert sample(shop, "orders", "tienda_breaker_transitions_total", upstream="payments", to="closed") == 1
    assert sample(shop, "orders", "tienda_breaker_state", upstream="payments") == 0
    assert shop.product(product["id"])["stock"] == 48


def test_a_registration_is_sent_once_however_it_fails_and_a_read_is_retried(resilient_shop):
    shop = resilient_shop
    _, token = shop.register("Cai")
    # 429: worth another attempt, and no failure of users for its breaker, which stays closed throughout.
    shop.set_faults("users", [{"target": "POST /users", "fault": "error", "status": 429},
                              {"target": "GET /users/me", "fault": "error", "status": 429}])  # fmt: skip
    try:
        body = {"email": "once@e2e.test", "password": "correct horse battery", "name": "Once"}
        registered = shop.http.post(shop.url("/users"), json=body, timeout=10)
        me = shop.http.get(shop.url("/users/me"), headers=bearer(token), timeout=10)
        injected = scrape(shop.services["users"].url, "tienda_faults_injected_total")
    finally:
        shop.clear_faults("users")

    assert (registered.status_code, me.status_code) == (429, 429)
    assert injected["fault=error,target=POST /users"] == 1  # not idempotent: never repeated
    assert injected["fault=error,target=GET /users/me"] == 3  # a GET: three attempts


def test_product_reads_are_answered_stale_while_products_is_down_and_the_bulkhead_holds(resilient_shop):
    shop = resilient_shop
    product = shop.create_product(stock=5)
    fresh = shop.http.get(shop.url(f"/products/{product['id']}"), timeout=10)
    shop.set_faults("products", [{"target": "GET /products/{product_id}", "fault": "latency", "delay_seconds": 3}])
    try:
        others = [shop.create_product(stock=1) for _ in range(3 * BULKHEAD)]
        answers: dict[int, int] = {}

        def read(product_id: int) -> None:
            answers[product_id] = shop.http.get(shop.url(f"/products/{product_id}"), timeout=30).status_code

        threads = [threading.Thread(target=read, args=(p["id"],)) for p in others]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rejected = sample(shop, "gateway", "tienda_bulkhead_rejections_total", upstream="products")
    finally:
        shop.clear_faults("products")

    # At most BULKHEAD reads were in flight to products; every other one was refused at once (503), never queued.
    assert sorted(answers.values()).count(200) <= BULKHEAD
    assert sorted(answers.values()).count(503) == rejected >= len(others) - BULKHEAD

    shop.kill("products")
    try:
        stale = shop.http.get(shop.url(f"/products/{product['id']}"), timeout=10)
        never_read = shop.http.get(shop.url(f"/products/{others[-1]['id'] + 1000}"), timeout=10)
    finally:
        shop.restart("products")

    assert (stale.status_code, stale.json()) == (200, fresh.json())
    assert (stale.headers["X-Tienda-Stale"], stale.headers["Warning"]) == ("true", '110 - "Response is Stale"')
    assert int(stale.headers["Age"]) >= 0 and "X-Tienda-Stale" not in fresh.headers
    assert never_read.status_code == 503
    assert sample(shop, "gateway", "tienda_gateway_stale_answers_total", route="/products/{id}") == 1
