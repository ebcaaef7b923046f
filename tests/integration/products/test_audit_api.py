"""GET /audit/stock and /audit/reservations: products' stock figures and reservations' states, for the audit."""

import pytest

from tests.support.auth import AUDIT
from tests.support.paging import BAD_PAGES, audit_pages
from tests.support.products import ADMIN


def test_the_audit_balances_stock_held_and_committed_against_initial_stock_and_restocks(products, client):
    mug = products.add_product("MUG", stock=10)
    for reservation_id, quantity in (("s-held", 2), ("s-committed", 3), ("s-released", 1), ("s-returned", 4)):
        body = {"reservation_id": reservation_id, "items": [{"product_id": mug.id, "quantity": quantity}]}
        assert client.post("/reservations", json=body).status_code == 201
    client.post("/reservations/s-committed/commit")
    client.post("/reservations/s-released/release")
    client.post("/reservations/s-returned/commit")
    client.post("/reservations/s-returned/return")
    assert client.post(f"/products/{mug.id}/restock", json={"quantity": 5}, headers=ADMIN).status_code == 200
    client.post("/reservations/s-tombstone/release")

    response = client.get("/audit/stock", headers=AUDIT)

    assert response.status_code == 200
    body = response.get_json()
    assert body["products"] == [
        {"product_id": mug.id, "stock": 10, "initial_stock": 10, "restocked": 5, "held": 2, "committed": 3}
    ]
    (stock,) = body["products"]
    assert stock["stock"] + stock["held"] + stock["committed"] == stock["initial_stock"] + stock["restocked"]
    body = client.get("/audit/reservations", headers=AUDIT).get_json()
    assert [(r["reservation_id"], r["status"]) for r in body["reservations"]] == [
        ("s-committed", "committed"), ("s-held", "held"), ("s-released", "released"), ("s-returned", "returned"),
        ("s-tombstone", "released"),
    ]  # fmt: skip
    assert all(r["updated_at"].endswith("Z") for r in body["reservations"])


def test_pages_of_two_hand_out_every_product_and_every_reservation_exactly_once_in_key_order(products, client):
    ids = [products.add_product(f"SKU-{n}", stock=10).id for n in range(5)]
    names = [f"saga-{n}" for n in (3, 0, 4, 1, 2)]
    for name in names:
        body = {"reservation_id": name, "items": [{"product_id": ids[0], "quantity": 1}]}
        assert client.post("/reservations", json=body).status_code == 201

    stock = audit_pages(client, "/audit/stock", "products", "product_id", limit=2)
    reservations = audit_pages(client, "/audit/reservations", "reservations", "reservation_id", limit=2)

    assert stock == [ids[:2], ids[2:4], ids[4:]]
    assert reservations == [["saga-0", "saga-1"], ["saga-2", "saga-3"], ["saga-4"]]
    assert audit_pages(client, "/audit/reservations", "reservations", "reservation_id", limit=2, until="saga-2") == [
        ["saga-0", "saga-1"],
        ["saga-2"],
    ]
    first = client.get("/audit/stock", query_string={"limit": 1}, headers=AUDIT).get_json()["products"]
    assert first == [{"product_id": ids[0], "stock": 5, "initial_stock": 10, "restocked": 0, "held": 5, "committed": 0}]


@pytest.mark.parametrize("route", ["/audit/stock", "/audit/reservations"])
@pytest.mark.parametrize("query", BAD_PAGES)
def test_a_page_outside_the_paging_rules_is_a_400_naming_the_parameter(client, route, query):
    response = client.get(route, query_string=query, headers=AUDIT)

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_page"
    assert [d["field"] for d in error["details"]] == list(query)


def test_a_product_id_that_is_not_a_number_is_not_a_stock_page(client):
    response = client.get("/audit/stock", query_string={"after": "saga-1"}, headers=AUDIT)

    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "invalid_page")
