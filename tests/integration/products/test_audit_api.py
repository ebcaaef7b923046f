"""GET /audit/stock: every product's stock figures and every reservation, for the integrity audit."""

from tests.support.auth import AUDIT
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
    assert sorted((r["reservation_id"], r["status"]) for r in body["reservations"]) == [
        ("s-committed", "committed"), ("s-held", "held"), ("s-released", "released"), ("s-returned", "returned"),
        ("s-tombstone", "released"),
    ]  # fmt: skip
    assert all(r["updated_at"].endswith("Z") for r in body["reservations"])
