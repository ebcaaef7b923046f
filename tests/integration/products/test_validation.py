"""Bad input is refused with a clear JSON 4xx and changes nothing, on SQLite and PostgreSQL.

Every test here must leave the catalog as the module found it, so they share one app per backend
(``shop``) and each ends by checking that nothing moved.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.products.domain import OUTCOMES
from services.products.store import ReservationRow
from tests.support.auth import ORDERS
from tests.support.products import ADMIN, USER, ProductsHarness

MUG = {"id": 1, "sku": "MUG", "name": "Mug", "description": "", "price_cents": 1290, "currency": "EUR", "stock": 10}
VALID = {"sku": "MUG-1", "name": "Mug", "description": "A mug.", "price_cents": 1290, "currency": "EUR", "stock": 5}


@pytest.fixture(scope="module")
def shop(shared_database_url):
    harness = ProductsHarness(shared_database_url)
    harness.empty_database()
    harness.add_product("MUG", stock=10, price_cents=1290, name="Mug")
    yield harness
    harness.close()


@pytest.fixture
def client(shop):
    return shop.client


def assert_nothing_changed(shop: ProductsHarness) -> None:
    assert shop.client.get("/products").get_json() == {"items": [MUG], "total": 1, "limit": 20, "offset": 0}
    assert shop.stock(1) == 10
    with shop.products.service.repository.atomic() as tx:
        assert tx.session.scalar(select(func.count()).select_from(ReservationRow)) == 0
    assert [shop.outcome(outcome) for outcome in OUTCOMES] == [0] * len(OUTCOMES)


# --- catalog --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=abc", "limit=1.5", "limit=", "offset=-1", "offset=x", "sort=name"]
)
def test_listing_with_a_bad_query_is_invalid_input(shop, client, query):
    response = client.get(f"/products?{query}")

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"][0]["field"] == query.split("=")[0]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/products", VALID),
        ("put", "/products/1", {"name": "n", "description": "", "price_cents": 1}),
        ("delete", "/products/1", None),
        ("post", "/products/1/restock", {"quantity": 1}),
    ],
)
def test_catalog_writes_need_an_admin_through_the_gateway(shop, client, method, path, body):
    anonymous = getattr(client, method)(path, json=body, headers={"Authorization": ""})
    forged = getattr(client, method)(
        path, json=body, headers={"Authorization": "", "X-User-Id": "1", "X-User-Role": "admin"}
    )
    orders = getattr(client, method)(path, json=body, headers={"X-User-Id": "1", "X-User-Role": "admin"})
    user = getattr(client, method)(path, json=body, headers=USER)

    for refused in (anonymous, forged):
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (401, "missing_token")
    for refused in (orders, user):
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "forbidden_caller")
    assert_nothing_changed(shop)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sku", ""),
        ("sku", "x" * 65),
        ("sku", "has space"),
        ("sku", "slash/es"),
        ("sku", "trailing-newline\n"),
        ("sku", 12),
        ("name", ""),
        ("name", "   "),
        ("name", "x" * 201),
        ("name", "nul\x00byte"),
        ("name", "tab\tbed"),
        ("description", "nul\x00byte"),
        ("description", "x" * 2001),
        ("description", None),
        ("price_cents", 0),
        ("price_cents", 10_000_001),
        ("price_cents", "1290"),
        ("price_cents", 12.9),
        ("price_cents", True),
        ("currency", "USD"),
        ("currency", "eur"),
        ("stock", -1),
        ("stock", 1_000_001),
        ("stock", "5"),
        ("stock", False),
        ("colour", "red"),
    ],
)
def test_creating_a_product_with_a_bad_field_is_invalid_input_and_stores_nothing(shop, client, field, value):
    response = client.post("/products", json={**VALID, field: value}, headers=ADMIN)

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert [d["field"] for d in error["details"]] == [field]
    assert_nothing_changed(shop)


@pytest.mark.parametrize("field", ["sku", "name", "price_cents"])
def test_creating_a_product_without_a_required_field_is_invalid_input(shop, client, field):
    body = {k: v for k, v in VALID.items() if k != field}

    response = client.post("/products", json=body, headers=ADMIN)

    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == [{"field": field, "message": "Field required"}]
    assert_nothing_changed(shop)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "price_cents": 1},
        {"name": "n", "price_cents": 0},
        {"name": "n", "price_cents": 1, "stock": 100},
        {"name": "n", "price_cents": 1, "sku": "OTHER"},
        {"price_cents": 1},
    ],
)
def test_a_bad_product_change_is_invalid_input_and_changes_nothing(shop, client, body):
    response = client.put("/products/1", json=body, headers=ADMIN)

    assert (response.status_code, response.get_json()["error"]["code"]) == (422, "invalid_input")
    assert_nothing_changed(shop)


@pytest.mark.parametrize("quantity", [0, -1, 1_000_001, "5", 2.0, True, None])
def test_restocking_by_a_bad_quantity_is_invalid_input_and_moves_no_stock(shop, client, quantity):
    response = client.post("/products/1/restock", json={"quantity": quantity}, headers=ADMIN)

    assert (response.status_code, response.get_json()["error"]["code"]) == (422, "invalid_input")
    assert_nothing_changed(shop)


@pytest.mark.parametrize("path", ["/products", "/reservations", "/products/1/restock"])
@pytest.mark.parametrize(
    "data", [b"{not json", b"[1, 2]", b"null", b"", b"[" * 20_000 + b"]" * 20_000, b'{"quantity": NaN}']
)
def test_a_body_that_is_not_a_json_object_is_a_bad_request(shop, client, path, data):
    caller = ORDERS if path.startswith("/reservations") else ADMIN
    response = client.post(path, data=data, headers={**caller, "Content-Type": "application/json"})

    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "invalid_json")
    assert_nothing_changed(shop)


# --- reservations ----------------------------------------------------------------------------------------


def _item(**changes):
    return {"product_id": 1, "quantity": 1, **changes}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reservation_id": "r", "items": [_item(quantity="5")]}, "items.0.quantity"),
        ({"reservation_id": "r", "items": [_item(quantity=True)]}, "items.0.quantity"),
        ({"reservation_id": "r", "items": [_item(quantity=1.0)]}, "items.0.quantity"),
        ({"reservation_id": "r", "items": [_item(quantity=0)]}, "items.0.quantity"),
        ({"reservation_id": "r", "items": [_item(quantity=101)]}, "items.0.quantity"),
        ({"reservation_id": "r", "items": [_item(quantity=None)]}, "items.0.quantity"),
        ({"reservation_id": "r", "items": [_item(product_id=0)]}, "items.0.product_id"),
        ({"reservation_id": "r", "items": [_item(product_id=-1)]}, "items.0.product_id"),
        ({"reservation_id": "r", "items": [_item(product_id="1")]}, "items.0.product_id"),
        ({"reservation_id": "r", "items": [_item(product_id=2**31)]}, "items.0.product_id"),
        ({"reservation_id": "r", "items": [_item(colour="red")]}, "items.0.colour"),
        ({"reservation_id": "r", "items": [_item(), _item(quantity=0)]}, "items.1.quantity"),
        ({"reservation_id": "r", "items": []}, "items"),
        ({"reservation_id": "r", "items": [_item(product_id=n) for n in range(1, 22)]}, "items"),
        ({"reservation_id": "r", "items": {"product_id": 1, "quantity": 1}}, "items"),
        ({"reservation_id": "r"}, "items"),
        ({"reservation_id": "", "items": [_item()]}, "reservation_id"),
        ({"reservation_id": "x" * 65, "items": [_item()]}, "reservation_id"),
        ({"reservation_id": "order 1", "items": [_item()]}, "reservation_id"),
        ({"reservation_id": "order/1", "items": [_item()]}, "reservation_id"),
        ({"reservation_id": "ordén", "items": [_item()]}, "reservation_id"),
        ({"reservation_id": "order-1\n", "items": [_item()]}, "reservation_id"),
        ({"reservation_id": 123, "items": [_item()]}, "reservation_id"),
        ({"items": [_item()]}, "reservation_id"),
        ({"reservation_id": "r", "items": [_item()], "user_id": 1}, "user_id"),
    ],
)
def test_a_malformed_reservation_is_invalid_input_and_moves_no_stock(shop, client, body, field):
    response = client.post("/reservations", json=body)

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert field in [d["field"] for d in error["details"]]
    assert_nothing_changed(shop)
