"""A person using the shop through the gateway: the five services as real gunicorn processes."""

import pytest

from tests.support.shop import APPROVE, DECLINE, NO_FUNDS, bearer


def test_a_customer_registers_browses_orders_reads_the_details_and_cancels(shop):
    product = shop.create_product(stock=5, price_cents=1999)
    user, token = shop.register("Grace")
    me = shop.http.get(shop.url("/users/me"), headers=bearer(token), timeout=10)
    assert me.status_code == 200 and me.json()["id"] == user["id"] and me.json()["role"] == "user"

    listing = shop.http.get(shop.url("/products?limit=100"), timeout=10).json()
    assert listing["total"] >= 1 and any(p["id"] == product["id"] for p in listing["items"])

    response = shop.order(token, [{"product_id": product["id"], "quantity": 2}])
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "confirmed"
    assert order["total_cents"] == 3998 and order["currency"] == "EUR"
    assert order["items"] == [
        {"product_id": product["id"], "name": product["name"], "quantity": 2, "unit_price_cents": 1999}
    ]
    assert shop.product(product["id"])["stock"] == 3

    details = shop.http.get(shop.url(f"/orders/{order['id']}/details"), headers=bearer(token), timeout=10).json()
    assert details["order"]["id"] == order["id"]
    (payment,) = details["payments"]
    assert payment["status"] == "completed" and payment["card_last4"] == "4242"
    assert payment["amount_cents"] == 3998

    cancelled = shop.http.post(shop.url(f"/orders/{order['id']}/cancel"), headers=bearer(token), timeout=30)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert shop.product(product["id"])["stock"] == 5
    details = shop.http.get(shop.url(f"/orders/{order['id']}/details"), headers=bearer(token), timeout=10).json()
    assert details["payments"][0]["status"] == "refunded"


@pytest.mark.parametrize(("card", "code"), [(DECLINE, "card_declined"), (NO_FUNDS, "insufficient_funds")])
def test_a_declined_card_answers_402_and_holds_no_stock(shop, card, code):
    product = shop.create_product(stock=4)
    _, token = shop.register()
    response = shop.order(token, [{"product_id": product["id"], "quantity": 3}], card=card)
    assert response.status_code == 402
    assert response.json()["error"]["code"] == code
    assert shop.product(product["id"])["stock"] == 4
    (order,) = shop.http.get(shop.url("/orders"), headers=bearer(token), timeout=10).json()["items"]
    assert order["status"] == "failed" and order["failure_reason"] == code


def test_an_order_that_cannot_be_met_answers_409_and_moves_no_stock(shop):
    plenty = shop.create_product(stock=10)
    short = shop.create_product(stock=1)
    _, token = shop.register()
    response = shop.order(
        token, [{"product_id": plenty["id"], "quantity": 3}, {"product_id": short["id"], "quantity": 2}]
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_stock"
    assert shop.product(plenty["id"])["stock"] == 10
    assert shop.product(short["id"])["stock"] == 1


def test_customers_see_only_their_own_orders(shop):
    product = shop.create_product(stock=5)
    _, alice = shop.register("Alice")
    _, bob = shop.register("Bob")
    order = shop.order(alice, [{"product_id": product["id"], "quantity": 1}]).json()
    for method, path in [("GET", f"/orders/{order['id']}"), ("GET", f"/orders/{order['id']}/details"),
                         ("POST", f"/orders/{order['id']}/cancel")]:  # fmt: skip
        response = shop.http.request(method, shop.url(path), headers=bearer(bob), timeout=10)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "order_not_found"
    assert shop.http.get(shop.url("/orders"), headers=bearer(bob), timeout=10).json()["items"] == []
    forged = {**bearer(bob), "X-User-Id": str(order["user_id"])}
    assert shop.http.get(shop.url(f"/orders/{order['id']}"), headers=forged, timeout=10).status_code == 404
    assert shop.product(product["id"])["stock"] == 4


def test_replaying_an_order_with_the_same_idempotency_key_charges_once(shop):
    product = shop.create_product(stock=5)
    _, token = shop.register()
    items = [{"product_id": product["id"], "quantity": 1}]
    first = shop.order(token, items, **{"Idempotency-Key": "checkout-1"})
    second = shop.order(token, items, **{"Idempotency-Key": "checkout-1"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    details = shop.http.get(shop.url(f"/orders/{first.json()['id']}/details"), headers=bearer(token), timeout=10)
    assert len(details.json()["payments"]) == 1
    assert shop.product(product["id"])["stock"] == 4
    assert len(shop.http.get(shop.url("/orders"), headers=bearer(token), timeout=10).json()["items"]) == 1


def _bad_orders(product_id):
    card = {"card_number": APPROVE, "expiry": "12/30", "cvc": "123"}
    item = {"product_id": product_id, "quantity": 1}
    return [
        ({"items": [item]}, 422),  # no payment
        ({"payment": card}, 422),  # no items
        ({"items": [item], "payment": card, "coupon": "FREE"}, 422),  # extra field
        ({"items": [{"product_id": str(product_id), "quantity": 1}], "payment": card}, 422),  # wrong type
        ({"items": [{"product_id": product_id, "quantity": 0}], "payment": card}, 422),
        ({"items": [{"product_id": product_id, "quantity": -3}], "payment": card}, 422),
        ({"items": [{"product_id": product_id, "quantity": 10**9}], "payment": card}, 422),
        ({"items": [item, item], "payment": card}, 422),  # duplicate product
        ({"items": [{"product_id": 99_999_999, "quantity": 1}], "payment": card}, 422),  # unknown product
        ({"items": [item], "payment": {**card, "card_number": "4242"}}, 422),
        ({"items": [item], "payment": {**card, "card_number": "4242424242424241"}}, 422),  # bad Luhn
        ({"items": [item], "payment": {**card, "expiry": "13/30"}}, 422),
        ({"items": [item], "payment": {**card, "expiry": "01/20"}}, 422),  # expired
        ({"items": [item], "payment": {**card, "cvc": "12"}}, 422),
        ({"items": [], "payment": card}, 422),
        ([item], 400),  # not an object
    ]


def test_bad_orders_get_a_4xx_json_error_and_change_nothing(shop):
    product = shop.create_product(stock=3)
    _, token = shop.register()
    for body, status in _bad_orders(product["id"]):
        response = shop.http.post(shop.url("/orders"), json=body, headers=bearer(token), timeout=10)
        assert response.status_code == status, (body, response.text)
        error = response.json()["error"]
        assert error["code"] and error["message"] and error["request_id"] == response.headers["X-Request-ID"]
    raw = shop.http.post(
        shop.url("/orders"), data="not json", headers={**bearer(token), "Content-Type": "application/json"}, timeout=10
    )
    assert raw.status_code == 400
    assert shop.product(product["id"])["stock"] == 3
    assert shop.http.get(shop.url("/orders"), headers=bearer(token), timeout=10).json()["items"] == []


def test_unauthenticated_and_unknown_requests_get_json_errors(shop):
    assert shop.http.get(shop.url("/orders"), timeout=10).status_code == 401
    bad = shop.http.get(shop.url("/orders"), headers=bearer("not.a.token"), timeout=10)
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_token"
    missing = shop.http.get(shop.url("/no/such/route"), timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_only_admins_change_the_catalog(shop):
    _, token = shop.register()
    body = {"sku": "NOPE-1", "name": "Nope", "description": "", "price_cents": 100, "currency": "EUR", "stock": 1}
    response = shop.http.post(shop.url("/products"), json=body, headers=bearer(token), timeout=10)
    assert response.status_code == 403
    assert shop.http.post(shop.url("/products"), json=body, timeout=10).status_code == 401


def test_registering_the_same_email_twice_is_a_conflict(shop):
    user, _ = shop.register()
    again = shop.http.post(
        shop.url("/users"),
        json={"email": user["email"].upper(), "password": "another password", "name": "X"},
        timeout=10,
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "email_taken"
