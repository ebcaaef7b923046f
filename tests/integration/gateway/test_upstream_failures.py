"""Upstream failures become 502/503/504 with the project's error body; bad request bodies never leave."""

from __future__ import annotations

import time

import pytest

from telemetry.resilience import PolicyConfig
from tests.support.gateway import bearer

ORDER = {"items": [{"product_id": 1, "quantity": 1}], "payment": {"card_number": "4242424242424242",
         "expiry": "12/30", "cvc": "123"}}  # fmt: skip


def _error(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["request_id"] == response.headers["X-Request-ID"]
    return body["error"]


def test_a_refused_connection_is_503_upstream_unavailable_naming_the_service(make_gateway, closed_url):
    gateway = make_gateway(orders_url=closed_url)

    response = gateway.client.get("/api/v1/orders/5", headers=bearer())

    assert response.status_code == 503
    error = _error(response)
    assert error["code"] == "upstream_unavailable"
    assert "orders" in error["message"]
    assert error["details"] == {"upstream": "orders"}
    assert closed_url.rsplit(":", 1)[1] not in response.get_data(as_text=True)


def test_a_slow_service_is_504_upstream_timeout_after_the_read_timeout(make_gateway, fakes):
    gateway = make_gateway(upstream_read_timeout_seconds=0.3)
    fakes.products.stall("GET", "/products/3", seconds=5)

    started = time.perf_counter()
    response = gateway.client.get("/api/v1/products/3")
    elapsed = time.perf_counter() - started

    assert response.status_code == 504
    error = _error(response)
    assert error["code"] == "upstream_timeout"
    assert "products" in error["message"]
    assert elapsed < 3


def test_a_5xx_is_502_upstream_error_without_the_services_body(client, fakes):
    leak = {"error": {"code": "internal_error", "message": "Traceback: secret at db.py line 3", "request_id": "x"}}
    fakes.orders.reply("POST", "/orders", 500, leak)

    response = client.post("/api/v1/orders", json=ORDER, headers=bearer())

    assert response.status_code == 502
    error = _error(response)
    assert error["code"] == "upstream_error"
    assert "orders" in error["message"]
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("status", [500, 501, 502, 504])
def test_every_5xx_of_a_service_but_503_is_502(client, fakes, status):
    fakes.users.reply("GET", "/users/me", status, {"error": {"code": "x", "message": "y", "request_id": None}})

    response = client.get("/api/v1/users/me", headers=bearer())

    assert response.status_code == 502
    assert _error(response)["code"] == "upstream_error"


def test_a_503_of_a_service_is_503_with_its_retry_after(client, fakes):
    fakes.users.reply("GET", "/users/me", 503, {"error": {"code": "x", "message": "y"}}, headers={"Retry-After": "7"})

    response = client.get("/api/v1/users/me", headers=bearer())

    assert (response.status_code, response.headers["Retry-After"]) == (503, "7")
    assert (_error(response)["code"], _error(response)["details"]) == ("upstream_unavailable", {"upstream": "users"})


def test_a_503_of_orders_naming_payments_is_answered_as_payments_unavailable(client, fakes):
    unavailable = {"error": {"code": "upstream_unavailable", "message": "The payments service is unavailable.",
                             "details": {"upstream": "payments"}}}  # fmt: skip
    fakes.orders.reply("POST", "/orders", 503, unavailable, headers={"Retry-After": "3"})

    response = client.post("/api/v1/orders", json=ORDER, headers=bearer())

    assert (response.status_code, response.headers["Retry-After"]) == (503, "3")
    assert _error(response)["details"] == {"upstream": "payments"}
    assert "payments" in _error(response)["message"]


@pytest.mark.parametrize(
    ("status", "raw", "content_type"),
    [
        (200, b"<html>hello</html>", "text/html"),
        (200, b'{"truncated": ', "application/json"),
        (200, b'{"n": NaN}', "application/json"),
        (200, b'{"looks": "like json"}', "text/plain"),
        (404, b"Not Found", "text/plain"),
        (302, b"", "text/html"),
        (200, b"", "application/json"),
    ],
    ids=["html", "truncated-json", "nan", "json-as-text", "non-json-4xx", "redirect", "empty-200"],
)
def test_an_answer_that_is_not_json_is_502(client, fakes, status, raw, content_type):
    fakes.products.reply("GET", "/products/3", status, raw=raw, content_type=content_type)

    response = client.get("/api/v1/products/3")

    assert response.status_code == 502
    error = _error(response)
    assert error["code"] == "upstream_error"
    assert "products" in error["message"]


def test_a_redirect_is_not_followed(client, fakes):
    fakes.products.handlers[("GET", "/products/3")] = lambda: ("", 302, {"Location": "/products/4"})

    response = client.get("/api/v1/products/3")

    assert response.status_code == 502
    assert [c.path for c in fakes.products.calls] == ["/products/3"]


def test_a_failure_is_logged_once_with_the_service_and_the_kind(make_gateway, closed_url):
    gateway = make_gateway(payments_url=closed_url, users_url=closed_url)

    gateway.client.get("/api/v1/users/me", headers=bearer())

    failures = [r for r in gateway.logs() if r.get("event") == "gateway.upstream_failed"]
    assert len(failures) == 1
    assert failures[0]["upstream"] == "users"
    assert failures[0]["failure"] == "unreachable"
    assert failures[0]["level"] == "WARNING"


def test_a_body_over_64_kib_is_413_and_reaches_no_service(client, fakes):
    body = b'{"padding": "' + b"x" * (64 * 1024) + b'"}'

    response = client.post("/api/v1/orders", data=body, headers={**bearer(), "Content-Type": "application/json"})

    assert response.status_code == 413
    _error(response)
    assert not fakes.orders.calls


def test_a_body_just_under_64_kib_is_forwarded(client, fakes):
    padding = "x" * (64 * 1024 - 100)

    response = client.post("/api/v1/users", json={"name": padding})

    assert response.status_code == 200
    assert fakes.users.only_call().json == {"name": padding}


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"email=a&password=b", "application/x-www-form-urlencoded"),
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"a string"', "application/json"),
        (b"null", "application/json"),
        (b'{"n": NaN}', "application/json"),
        (b'{"n": Infinity}', "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"[" * 30_000 + b"]" * 30_000, "application/json"),
    ],
    ids=["form", "broken", "empty", "array", "string", "null", "nan", "infinity", "bad-utf8", "too-deep"],
)
def test_a_body_that_is_not_a_json_object_is_400_invalid_json_and_reaches_no_service(client, fakes, data, content_type):
    response = client.post("/api/v1/users", data=data, headers={"Content-Type": content_type})

    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_json"
    assert not fakes.users.calls


def test_a_json_object_is_forwarded_whatever_its_content_type_says(client, fakes):
    response = client.post("/api/v1/auth/token", data=b'{"email": "a@b.c"}', headers={"Content-Type": "text/plain"})

    assert response.status_code == 200
    call = fakes.users.only_call()
    assert call.json == {"email": "a@b.c"}
    assert call.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(("headers", "reaches_orders"), [({"Idempotent-Replayed": "true"}, True), ({}, False)],
                         ids=["replayed", "live"])  # fmt: skip
def test_replayed_503s_of_orders_leave_the_gateway_breaker_closed_and_live_ones_open_it(
    make_gateway, fakes, headers, reaches_orders
):
    gateway = make_gateway(resilience=PolicyConfig(failure_threshold=2, max_attempts=1))
    interrupted = {"error": {"code": "order_interrupted", "message": "The order was interrupted."}}
    fakes.orders.reply("POST", "/orders", 503, interrupted, headers=headers)
    for n in range(3):  # customers sending again, with their keys, orders that a crash interrupted
        response = gateway.client.post("/api/v1/orders", json=ORDER, headers={**bearer(), "Idempotency-Key": f"k{n}"})
        assert response.status_code == 503

    listed = gateway.client.get("/api/v1/orders", headers=bearer())

    assert (listed.status_code == 200) is reaches_orders
    assert bool(fakes.orders.calls_to("GET", "/orders")) is reaches_orders
