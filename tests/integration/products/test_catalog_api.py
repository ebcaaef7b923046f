"""The catalog endpoints of the products service, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.support.products import ADMIN

VALID = {"sku": "MUG-1", "name": "Mug", "description": "A mug.", "price_cents": 1290, "currency": "EUR", "stock": 5}


def test_listing_pages_through_products_in_id_order_with_the_total(products, client):
    for n in range(1, 6):
        products.add_product(f"SKU-{n}", stock=n)

    response = client.get("/products?limit=2&offset=1")

    assert response.status_code == 200
    body = response.get_json()
    assert (body["total"], body["limit"], body["offset"]) == (5, 2, 1)
    assert body["items"] == [
        {
            "id": 2,
            "sku": "SKU-2",
            "name": "SKU-2",
            "description": "",
            "price_cents": 1000,
            "currency": "EUR",
            "stock": 2,
        },
        {
            "id": 3,
            "sku": "SKU-3",
            "name": "SKU-3",
            "description": "",
            "price_cents": 1000,
            "currency": "EUR",
            "stock": 3,
        },
    ]


def test_listing_defaults_to_the_first_20(products, client):
    for n in range(25):
        products.add_product(f"SKU-{n}")

    body = client.get("/products").get_json()

    assert (len(body["items"]), body["total"], body["limit"], body["offset"]) == (20, 25, 20, 0)


def test_getting_a_product_returns_it_and_a_missing_one_is_product_not_found(products, client):
    product = products.add_product("MUG", stock=3, price_cents=1290)

    assert client.get(f"/products/{product.id}").get_json() == {
        "id": product.id, "sku": "MUG", "name": "MUG", "description": "", "price_cents": 1290, "currency": "EUR",
        "stock": 3,
    }  # fmt: skip
    for path in ("/products/999", f"/products/{2**31}"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "product_not_found"


def test_an_admin_creates_a_product(products, client):
    response = client.post("/products", json=VALID, headers=ADMIN)

    assert response.status_code == 201
    body = response.get_json()
    assert body == {"id": body["id"], **VALID}
    assert response.headers["Location"] == f"/products/{body['id']}"
    assert client.get(f"/products/{body['id']}").get_json() == body
    assert products.events("product.created")[0]["sku"] == "MUG-1"


def test_a_new_product_defaults_to_no_description_euros_and_no_stock(client):
    response = client.post("/products", json={"sku": "X", "name": "  X  ", "price_cents": 1}, headers=ADMIN)

    assert response.status_code == 201
    body = response.get_json()
    assert (body["name"], body["description"], body["currency"], body["stock"]) == ("X", "", "EUR", 0)


def test_creating_a_product_with_a_sku_in_use_is_sku_taken(products, client):
    products.add_product("MUG-1")

    response = client.post("/products", json=VALID, headers=ADMIN)

    assert (response.status_code, response.get_json()["error"]["code"]) == (409, "sku_taken")
    assert client.get("/products").get_json()["total"] == 1


def test_the_boundary_values_of_a_product_are_accepted(client):
    description = "Line one,\n\tindented line two. " + "d" * 1970
    body = {"sku": "Az09_-" + "A" * 58, "name": "ñ" * 200, "description": description, "price_cents": 10_000_000}

    response = client.post("/products", json={**body, "stock": 1_000_000}, headers=ADMIN)

    assert response.status_code == 201
    assert response.get_json() == {"id": 1, **body, "currency": "EUR", "stock": 1_000_000}


def test_an_admin_changes_name_description_and_price_but_not_stock(products, client):
    product = products.add_product("MUG", stock=6)

    response = client.put(
        f"/products/{product.id}",
        json={"name": "Big mug", "description": "Bigger.", "price_cents": 1590},
        headers=ADMIN,
    )

    assert response.status_code == 200
    assert response.get_json() == {
        "id": product.id, "sku": "MUG", "name": "Big mug", "description": "Bigger.", "price_cents": 1590,
        "currency": "EUR", "stock": 6,
    }  # fmt: skip
    assert client.get(f"/products/{product.id}").get_json() == response.get_json()


def test_changing_a_missing_product_is_product_not_found(client):
    response = client.put("/products/77", json={"name": "n", "price_cents": 1}, headers=ADMIN)

    assert (response.status_code, response.get_json()["error"]["code"]) == (404, "product_not_found")


def test_a_deleted_product_is_gone_from_the_catalog_but_keeps_its_row(products, client):
    kept, deleted = products.add_product("KEPT"), products.add_product("GONE", stock=8)

    response = client.delete(f"/products/{deleted.id}", headers=ADMIN)

    assert (response.status_code, response.data) == (204, b"")
    assert client.get(f"/products/{deleted.id}").status_code == 404
    listed = client.get("/products").get_json()
    assert ([p["id"] for p in listed["items"]], listed["total"]) == ([kept.id], 1)
    for again in (
        client.delete(f"/products/{deleted.id}", headers=ADMIN),
        client.put(f"/products/{deleted.id}", json={"name": "n", "price_cents": 1}, headers=ADMIN),
        client.post(f"/products/{deleted.id}/restock", json={"quantity": 1}, headers=ADMIN),
    ):
        assert (again.status_code, again.get_json()["error"]["code"]) == (404, "product_not_found")
    assert products.stock(deleted.id) == 8


def test_restocking_adds_to_the_stock(products, client):
    product = products.add_product(stock=3)

    response = client.post(f"/products/{product.id}/restock", json={"quantity": 7}, headers=ADMIN)

    assert response.status_code == 200
    assert response.get_json()["stock"] == 10
    assert products.stock(product.id) == 10
    assert products.events("product.restocked")[0]["quantity"] == 7


def test_restocking_a_missing_product_is_product_not_found(client):
    response = client.post("/products/5/restock", json={"quantity": 1}, headers=ADMIN)

    assert (response.status_code, response.get_json()["error"]["code"]) == (404, "product_not_found")
