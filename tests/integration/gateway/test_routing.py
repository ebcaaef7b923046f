"""Every public route reaches the right service, with the right identity, and answers what it answered."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from services.common.auth import Caller, Identity
from tests.support.gateway import bearer

ORDER_BODY = {
    "items": [{"product_id": 3, "quantity": 2}],
    "payment": {"card_number": "4242424242424242", "expiry": "12/30", "cvc": "123"},
}


@dataclass(frozen=True)
class Route:
    method: str
    public_path: str
    upstream: str
    upstream_path: str
    role: str | None = None  # None: public; else the token's role
    body: dict | None = None
    upstream_args: dict[str, str] = field(default_factory=dict)
    status: int = 200


ROUTES = [
    Route("POST", "/api/v1/users", "users", "/users",
          body={"email": "ada@example.com", "password": "long enough", "name": "Ada"}, status=201),
    Route("POST", "/api/v1/auth/token", "users", "/auth/token", body={"email": "ada@example.com", "password": "pw"}),
    Route("GET", "/api/v1/users/me", "users", "/users/me", role="user"),
    Route("GET", "/api/v1/products?limit=5&offset=10", "products", "/products",
          upstream_args={"limit": "5", "offset": "10"}),
    Route("GET", "/api/v1/products/3", "products", "/products/3"),
    Route("POST", "/api/v1/products", "products", "/products", role="admin",
          body={"sku": "A-1", "name": "Mug", "price_cents": 1250}, status=201),
    Route("PUT", "/api/v1/products/3", "products", "/products/3", role="admin",
          body={"name": "Mug", "description": "", "price_cents": 1300}),
    Route("POST", "/api/v1/products/3/restock", "products", "/products/3/restock", role="admin",
          body={"quantity": 5}),
    Route("POST", "/api/v1/orders", "orders", "/orders", role="user", body=ORDER_BODY, status=201),
    Route("GET", "/api/v1/orders?limit=2&offset=4", "orders", "/orders", role="user",
          upstream_args={"limit": "2", "offset": "4"}),
    Route("GET", "/api/v1/orders/5", "orders", "/orders/5", role="user"),
    Route("POST", "/api/v1/orders/5/cancel", "orders", "/orders/5/cancel", role="user"),
    Route("GET", "/api/v1/notifications?limit=3&offset=6", "notifications", "/notifications", role="user",
          upstream_args={"limit": "3", "offset": "6"}),
    Route("GET", "/api/v1/notifications?user_id=9", "notifications", "/notifications", role="admin",
          upstream_args={"limit": "20", "offset": "0", "user_id": "9"}),
]  # fmt: skip


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.public_path}")
def test_each_route_is_forwarded_to_its_service_and_answers_its_status_and_body(client, fakes, route: Route):
    upstream = fakes[route.upstream]
    answer = {"answered_by": route.upstream, "nested": {"list": [1, 2, 3]}}
    upstream.reply(route.method, route.upstream_path, route.status, answer)
    headers = bearer(42, route.role) if route.role else {}

    response = client.open(route.public_path, method=route.method, json=route.body, headers=headers)

    assert response.status_code == route.status
    assert response.get_json() == answer
    call = upstream.only_call()
    assert (call.method, call.path) == (route.method, route.upstream_path)
    assert call.args == route.upstream_args
    assert call.json == route.body
    if route.body is not None:
        assert call.headers["Content-Type"] == "application/json"
    if route.role:
        assert call.caller == Caller("gateway", Identity(42, route.role))
    else:
        assert call.caller == Caller("gateway")
    assert "X-User-Id" not in call.headers and "X-User-Role" not in call.headers
    assert all(not f.calls for name, f in fakes.items() if name != route.upstream)


def test_deleting_a_product_answers_the_services_empty_204(client, fakes):
    fakes.products.reply("DELETE", "/products/3", 204)

    response = client.delete("/api/v1/products/3", headers=bearer(1, "admin"))

    assert response.status_code == 204
    assert response.data == b""
    call = fakes.products.only_call()
    assert (call.method, call.path, call.caller) == ("DELETE", "/products/3", Caller("gateway", Identity(1, "admin")))


def test_listing_without_a_page_forwards_the_default_page(client, fakes):
    client.get("/api/v1/products")
    client.get("/api/v1/orders", headers=bearer())

    assert fakes.products.only_call().args == {"limit": "20", "offset": "0"}
    assert fakes.orders.only_call().args == {"limit": "20", "offset": "0"}


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "limit=abc", "offset=-1", "offset=1000000001", "offset=99999999999999999999", "limit=1.5"],
)
def test_an_out_of_range_page_is_422_and_reaches_no_service(client, fakes, query: str):
    response = client.get(f"/api/v1/products?{query}")

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_input"
    assert not fakes.products.calls


BAD_IDS = ["0", "-1", "007", "abc", "1.5", "2147483648", "9999999999", "99999999999999999999"]
ID_ROUTES = [
    ("GET", "/api/v1/products/{}"),
    ("PUT", "/api/v1/products/{}"),
    ("DELETE", "/api/v1/products/{}"),
    ("POST", "/api/v1/products/{}/restock"),
    ("GET", "/api/v1/orders/{}"),
    ("POST", "/api/v1/orders/{}/cancel"),
    ("GET", "/api/v1/orders/{}/details"),
]


@pytest.mark.parametrize(("method", "template"), ID_ROUTES)
def test_an_id_that_is_not_an_integer_from_1_to_2_pow_31_minus_1_is_404_for_every_method_and_reaches_no_service(
    client, fakes, method: str, template: str
):
    for bad in BAD_IDS:
        response = client.open(template.format(bad), method=method, json={"quantity": 1}, headers=bearer(1, "admin"))

        assert response.status_code == 404, (bad, response.status_code)
        assert response.get_json()["error"]["code"] == "not_found"
    assert not any(f.calls for f in fakes.values())


def test_the_largest_id_is_forwarded(client, fakes):
    response = client.get("/api/v1/products/2147483647")

    assert response.status_code == 200
    assert fakes.products.only_call().path == "/products/2147483647"


def test_the_idempotency_key_of_an_order_is_forwarded(client, fakes):
    client.post("/api/v1/orders", json=ORDER_BODY, headers={**bearer(), "Idempotency-Key": "order-abc-1"})

    assert fakes.orders.only_call().headers["Idempotency-Key"] == "order-abc-1"


def test_an_order_without_an_idempotency_key_is_forwarded_without_one(client, fakes):
    client.post("/api/v1/orders", json=ORDER_BODY, headers=bearer())

    assert "Idempotency-Key" not in fakes.orders.only_call().headers


@pytest.mark.parametrize(
    "key", ["", "k" * 256, "bad\x01key", "tab\tinside"], ids=["empty", "too-long", "control", "tab"]
)
def test_an_invalid_idempotency_key_is_422_and_reaches_no_service(client, fakes, key):
    response = client.post("/api/v1/orders", json=ORDER_BODY, headers={**bearer(), "Idempotency-Key": key})

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_idempotency_key"
    assert "Idempotency-Key" in error["message"]
    assert not fakes.orders.calls


def test_the_longest_idempotency_key_is_forwarded(client, fakes):
    key = "k ~" * 85

    response = client.post("/api/v1/orders", json=ORDER_BODY, headers={**bearer(), "Idempotency-Key": key})

    assert response.status_code == 200
    assert fakes.orders.only_call().headers["Idempotency-Key"] == key


def test_a_services_401_names_the_bearer_scheme(client, fakes):
    refused = {"error": {"code": "invalid_credentials", "message": "Wrong email or password.", "request_id": "r"}}
    fakes.users.reply("POST", "/auth/token", 401, refused)

    response = client.post("/api/v1/auth/token", json={"email": "a@b.co", "password": "nope"})

    assert response.status_code == 401
    assert response.get_json() == refused
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409, 422])
def test_a_4xx_answer_passes_through_unchanged(client, fakes, status: int):
    error: dict[str, Any] = {"error": {"code": "some_code", "message": "as the service said", "request_id": "r-1"}}
    fakes.orders.reply("POST", "/orders", status, error)

    response = client.post("/api/v1/orders", json=ORDER_BODY, headers=bearer())

    assert response.status_code == status
    assert response.get_json() == error


def test_an_admin_only_route_answers_the_services_403_to_a_plain_user(client, fakes):
    forbidden = {"error": {"code": "admin_only", "message": "This action needs the admin role.", "request_id": "r"}}
    fakes.products.reply("POST", "/products", 403, forbidden)

    response = client.post("/api/v1/products", json={"sku": "A"}, headers=bearer(9, "user"))

    assert response.status_code == 403
    assert response.get_json() == forbidden
    assert fakes.products.only_call().caller == Caller("gateway", Identity(9, "user"))


def test_unknown_methods_on_a_known_path_are_405_with_allow(client, fakes):
    response = client.patch("/api/v1/products/3")

    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]
    assert not fakes.products.calls


@pytest.mark.parametrize("query", ["user_id=0", "user_id=abc", "user_id=2147483648", "limit=0"])
def test_a_bad_notifications_query_is_422_and_reaches_no_service(client, fakes, query: str):
    response = client.get(f"/api/v1/notifications?{query}", headers=bearer(3, "admin"))

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_input"
    assert not fakes.notifications.calls
