"""Stock reservations over HTTP, on SQLite and PostgreSQL: all or nothing, idempotent, transitions once."""

from __future__ import annotations

import pytest

from tests.support.products import ADMIN, WRONG_STATE_TRANSITIONS


def reserve(client, reservation_id, *items):
    return client.post(
        "/reservations",
        json={"reservation_id": reservation_id, "items": [{"product_id": p, "quantity": q} for p, q in items]},
    )


def test_a_reservation_holds_the_stock_of_every_item(products, client):
    mug = products.add_product("MUG", stock=10, price_cents=1290, name="Mug")
    tee = products.add_product("TEE", stock=5, price_cents=1990, name="Tee")

    response = reserve(client, "order-123", (tee.id, 2), (mug.id, 3))

    assert response.status_code == 201
    assert response.headers["Location"] == "/reservations/order-123"
    assert response.get_json() == {
        "reservation_id": "order-123",
        "status": "held",
        "items": [
            {"product_id": tee.id, "name": "Tee", "quantity": 2, "unit_price_cents": 1990},
            {"product_id": mug.id, "name": "Mug", "quantity": 3, "unit_price_cents": 1290},
        ],
        "total_cents": 2 * 1990 + 3 * 1290,
        "currency": "EUR",
    }
    assert (products.stock(mug.id), products.stock(tee.id)) == (7, 3)
    assert client.get("/reservations/order-123").get_json() == response.get_json()
    assert products.outcome("held") == 1
    (event,) = products.events("stock.reserved")
    assert (event["message"], event["reservation_id"], event["total_cents"]) == ("stock reserved", "order-123", 7850)


def test_the_same_reservation_again_answers_200_with_the_first_and_moves_no_more_stock(products, client):
    mug = products.add_product("MUG", stock=10)
    first = reserve(client, "order-1", (mug.id, 3))

    again = reserve(client, "order-1", (mug.id, 3))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert products.stock(mug.id) == 7
    assert products.outcome("held") == 1


def test_a_reservation_short_on_its_last_item_is_refused_and_moves_no_stock(products, client):
    a, b, c = (
        products.add_product("A", stock=10),
        products.add_product("B", stock=10),
        products.add_product("C", stock=1),
    )

    response = reserve(client, "order-1", (a.id, 2), (b.id, 3), (c.id, 2))

    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "insufficient_stock"
    assert error["details"] == [{"product_id": c.id, "requested": 2, "available": 1}]
    assert [products.stock(p.id) for p in (a, b, c)] == [10, 10, 1]
    assert client.get("/reservations/order-1").status_code == 404
    assert (products.outcome("insufficient_stock"), products.outcome("held")) == (1, 0)
    assert products.events("stock.insufficient")[0]["product_ids"] == [c.id]


def test_a_refused_reservation_can_be_retried_under_the_same_id(products, client):
    mug = products.add_product("MUG", stock=1)
    assert reserve(client, "order-1", (mug.id, 2)).status_code == 409
    client.post(f"/products/{mug.id}/restock", json={"quantity": 1}, headers=ADMIN)

    assert reserve(client, "order-1", (mug.id, 2)).status_code == 201
    assert products.stock(mug.id) == 0


def test_reserving_unknown_or_deleted_products_is_unknown_product_and_moves_nothing(products, client):
    mug, gone = products.add_product("MUG", stock=5), products.add_product("GONE", stock=5)
    with products.products.service.repository.atomic() as tx:
        tx.delete_product(gone.id)

    response = reserve(client, "order-1", (mug.id, 1), (999, 1), (gone.id, 1))

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "unknown_product"
    assert error["details"] == [{"product_id": gone.id}, {"product_id": 999}]
    assert (products.stock(mug.id), products.stock(gone.id)) == (5, 5)
    assert client.get("/reservations/order-1").status_code == 404


def test_a_product_twice_in_a_reservation_is_duplicate_product(products, client):
    mug = products.add_product("MUG", stock=5)

    response = reserve(client, "order-1", (mug.id, 1), (mug.id, 2))

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "duplicate_product"
    assert response.get_json()["error"]["details"] == [{"product_id": mug.id}]
    assert products.stock(mug.id) == 5


def test_the_largest_reservation_is_accepted(products, client):
    ids = [products.add_product(f"SKU-{n}", stock=100).id for n in range(20)]
    reservation_id = "Az09._:-" + "x" * 56

    response = reserve(client, reservation_id, *[(product_id, 100) for product_id in ids])

    assert response.status_code == 201
    assert len(response.get_json()["items"]) == 20
    assert all(products.stock(product_id) == 0 for product_id in ids)
    assert client.get(f"/reservations/{reservation_id}").status_code == 200


def test_committing_keeps_the_stock_sold_and_is_idempotent(products, client):
    mug = products.add_product("MUG", stock=10)
    reserve(client, "order-1", (mug.id, 3))

    first, again = client.post("/reservations/order-1/commit"), client.post("/reservations/order-1/commit")

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.get_json()["status"] == again.get_json()["status"] == "committed"
    assert first.get_json()["reservation_id"] == "order-1"
    assert client.get("/reservations/order-1").get_json()["status"] == "committed"
    assert products.stock(mug.id) == 7
    assert products.outcome("committed") == 1
    assert len(products.events("stock.committed")) == 1


def test_releasing_gives_the_stock_back_once(products, client):
    mug, tee = products.add_product("MUG", stock=10), products.add_product("TEE", stock=4)
    reserve(client, "order-1", (mug.id, 3), (tee.id, 4))

    first, again = client.post("/reservations/order-1/release"), client.post("/reservations/order-1/release")

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.get_json()["status"] == again.get_json()["status"] == "released"
    assert (products.stock(mug.id), products.stock(tee.id)) == (10, 4)
    assert products.outcome("released") == 1


def test_returning_a_committed_reservation_gives_the_stock_back_once(products, client):
    mug = products.add_product("MUG", stock=10)
    reserve(client, "order-1", (mug.id, 3))
    client.post("/reservations/order-1/commit")

    first, again = client.post("/reservations/order-1/return"), client.post("/reservations/order-1/return")

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.get_json()["status"] == again.get_json()["status"] == "returned"
    assert products.stock(mug.id) == 10
    assert products.outcome("returned") == 1


@pytest.mark.parametrize(("before", "action", "code"), WRONG_STATE_TRANSITIONS)
def test_a_transition_from_the_wrong_state_is_a_conflict_and_moves_no_stock(products, client, before, action, code):
    mug = products.add_product("MUG", stock=10)
    reserve(client, "order-1", (mug.id, 3))
    for step in before:
        assert client.post(f"/reservations/order-1/{step}").status_code == 200
    stock, status = products.stock(mug.id), client.get("/reservations/order-1").get_json()["status"]

    response = client.post(f"/reservations/order-1/{action}")

    assert (response.status_code, response.get_json()["error"]["code"]) == (409, code)
    assert (products.stock(mug.id), client.get("/reservations/order-1").get_json()["status"]) == (stock, status)


@pytest.mark.parametrize("path", ["", "/commit", "/release", "/return"])
def test_a_missing_reservation_is_reservation_not_found(client, path):
    ids = ("x" * 65, "caf%C3%A9") if path == "/release" else ("order-404", "x" * 65, "caf%C3%A9")
    for reservation_id in ids:
        url = f"/reservations/{reservation_id}{path}"
        response = client.post(url) if path else client.get(url)
        assert (response.status_code, response.get_json()["error"]["code"]) == (404, "reservation_not_found")


def test_releasing_an_unknown_reservation_leaves_a_tombstone_and_a_late_create_is_refused_409_taking_no_stock(
    products, client
):
    mug = products.add_product("MUG", stock=10)

    released = client.post("/reservations/saga-late/release")
    late = client.post("/reservations", json={"reservation_id": "saga-late", "items": [{"product_id": mug.id,
                                                                                         "quantity": 2}]})  # fmt: skip

    assert released.status_code == 200
    body = released.get_json()
    assert (body["reservation_id"], body["status"], body["items"], body["total_cents"]) == ("saga-late", "released",
                                                                                           [], 0)  # fmt: skip
    assert (late.status_code, late.get_json()["error"]["code"]) == (409, "reservation_released")
    assert products.stock(mug.id) == 10
    assert client.get("/reservations/saga-late").get_json()["status"] == "released"
    assert client.post("/reservations/saga-late/release").get_json() == body  # idempotent


def test_released_stock_goes_back_to_a_product_deleted_meanwhile(products, client):
    mug = products.add_product("MUG", stock=10)
    reserve(client, "order-1", (mug.id, 4))
    client.delete(f"/products/{mug.id}", headers=ADMIN)

    assert client.post("/reservations/order-1/release").status_code == 200
    assert products.stock(mug.id) == 10
    assert reserve(client, "order-2", (mug.id, 1)).status_code == 422
