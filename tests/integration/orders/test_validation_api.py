"""Every input rule of the orders API: a 4xx JSON error, no order row, no call to products or payments."""

from tests.support.auth import signed
from tests.support.orders import USER, order_body

CARD = order_body()["payment"]
ITEM = {"product_id": 1, "quantity": 1}


def with_payment(**change) -> dict:
    return {"items": [ITEM], "payment": {**CARD, **change}}


def with_item(**change) -> dict:
    return {"items": [{**ITEM, **change}], "payment": CARD}


BAD_BODIES = [
    # (what, body, status, code)
    ("no payment", {"items": [ITEM]}, 422, "invalid_input"),
    ("no items", {"payment": CARD}, 422, "invalid_input"),
    ("an extra field", {**order_body(), "coupon": "FREE"}, 422, "invalid_input"),
    ("an extra item field", with_item(price_cents=1), 422, "invalid_input"),
    ("an extra payment field", with_payment(name="ADA"), 422, "invalid_input"),
    ("a product id as a string", with_item(product_id="1"), 422, "invalid_input"),
    ("a quantity as a string", with_item(quantity="1"), 422, "invalid_input"),
    ("a quantity as a float", with_item(quantity=1.0), 422, "invalid_input"),
    ("a quantity as a boolean", with_item(quantity=True), 422, "invalid_input"),
    ("a null quantity", with_item(quantity=None), 422, "invalid_input"),
    ("a zero quantity", with_item(quantity=0), 422, "invalid_input"),
    ("a negative quantity", with_item(quantity=-3), 422, "invalid_input"),
    ("a quantity over 100", with_item(quantity=101), 422, "invalid_input"),
    ("an absurd quantity", with_item(quantity=10**9), 422, "invalid_input"),
    ("a zero product id", with_item(product_id=0), 422, "invalid_input"),
    ("a negative product id", with_item(product_id=-1), 422, "invalid_input"),
    ("a product id past 64 bits", with_item(product_id=2**63), 422, "invalid_input"),
    ("no items at all", {"items": [], "payment": CARD}, 422, "invalid_input"),
    ("21 items", {"items": [{"product_id": p, "quantity": 1} for p in range(1, 22)], "payment": CARD}, 422,
     "invalid_input"),
    ("items that are not a list", {"items": ITEM, "payment": CARD}, 422, "invalid_input"),
    ("one product twice", {"items": [ITEM, {"product_id": 2, "quantity": 1}, ITEM], "payment": CARD}, 422,
     "duplicate_product"),
    ("a short card number", with_payment(card_number="4242"), 422, "invalid_input"),
    ("a 20-digit card number", with_payment(card_number="4" * 20), 422, "invalid_input"),
    ("a card number with spaces", with_payment(card_number="4242 4242 4242 4242"), 422, "invalid_input"),
    ("a card number with letters", with_payment(card_number="42424242424242ab"), 422, "invalid_input"),
    ("a card number as a number", with_payment(card_number=4242424242424242), 422, "invalid_input"),
    ("month 13", with_payment(expiry="13/30"), 422, "invalid_input"),
    ("a one-digit month", with_payment(expiry="1/30"), 422, "invalid_input"),
    ("a four-digit year", with_payment(expiry="12/2030"), 422, "invalid_input"),
    ("a short cvc", with_payment(cvc="12"), 422, "invalid_input"),
    ("a long cvc", with_payment(cvc="12345"), 422, "invalid_input"),
    ("a cvc as a number", with_payment(cvc=123), 422, "invalid_input"),
    ("a list body", [ITEM], 400, "invalid_json"),
    ("a string body", "order", 400, "invalid_json"),
]  # fmt: skip


def test_every_malformed_order_is_refused_with_a_json_4xx_and_stores_or_calls_nothing(orders):
    for what, body, status, code in BAD_BODIES:
        response = orders.order(body)

        assert response.status_code == status, (what, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == code, (what, error)
        assert error["message"] and error["request_id"] == response.headers["X-Request-ID"]
        assert "4242424242424242" not in response.get_data(as_text=True), what
    for what, data in [("not JSON", "{not json"), ("an empty body", ""), ("JSON null", "null")]:
        response = orders.client.post("/orders", data=data, headers={**USER, "Content-Type": "application/json"})
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_json", what
    for what, key in [("empty", ""), ("too long", "k" * 256), ("not ASCII", "clé"), ("a control character", "a\tb")]:
        response = orders.order(key=key)
        assert response.status_code == 422, what
        assert response.get_json()["error"]["code"] == "invalid_idempotency_key", what

    assert orders.count() == 0 and orders.journal == []
    assert "4242424242424242" not in orders.stream.getvalue()


def test_every_endpoint_needs_a_user_token_and_answers_401_without_one(orders):
    confirmed = orders.order().get_json()
    orders.journal.clear()
    requests = [("POST", "/orders"), ("GET", "/orders"), ("GET", f"/orders/{confirmed['id']}"),
                ("POST", f"/orders/{confirmed['id']}/cancel")]  # fmt: skip

    cases = (({}, "missing_token"), ({"X-User-Id": "7", "X-User-Role": "user"}, "missing_token"),
             (signed(sub="user:abc"), "invalid_token"), (signed(role="root"), "invalid_token"))  # fmt: skip
    for headers, code in cases:
        for method, path in requests:
            response = orders.client.open(path, method=method, json=order_body(), headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.get_json()["error"]["code"] == code
            assert response.headers["WWW-Authenticate"] == "Bearer"

    assert orders.count() == 1 and orders.journal == []
    assert orders.row(confirmed["id"]).status == "confirmed"
