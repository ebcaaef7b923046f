"""Wiring of the products app: migrations, demo catalog, health, metrics, OpenAPI, spans."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from services.products.domain import OUTCOMES
from tests.support.procs import ROOT
from tests.support.products import ADMIN, ProductsHarness


def test_a_brand_new_database_is_migrated_and_seeded_with_the_demo_catalog(database_url):
    harness = ProductsHarness(database_url, seed_catalog=True)
    try:
        body = harness.client.get("/products?limit=100").get_json()
        assert body["total"] == 12
        assert all(p["stock"] == 1000 and p["currency"] == "EUR" and p["price_cents"] > 0 for p in body["items"])
        assert len({p["sku"] for p in body["items"]}) == 12
        assert harness.events("catalog.seeded")[0]["products"] == 12
        harness.client.delete("/products/1", headers=ADMIN)
    finally:
        harness.close()

    restarted = ProductsHarness(database_url, seed_catalog=True)
    try:
        assert restarted.client.get("/products").get_json()["total"] == 11  # not seeded again
        assert restarted.events("catalog.seeded") == []
    finally:
        restarted.close()


def test_without_seeding_a_new_database_starts_empty(fresh_products):
    assert fresh_products.client.get("/products").get_json() == {"items": [], "total": 0, "limit": 20, "offset": 0}


def test_the_database_refuses_negative_stock_whatever_the_code_does(products):
    product = products.add_product(stock=1)
    with (
        pytest.raises(IntegrityError, match="(?i)check constraint"),
        products.products.database.engine.begin() as connection,
    ):
        connection.execute(text("UPDATE products SET stock = -1 WHERE id = :id"), {"id": product.id})
    assert products.stock(product.id) == 1


def test_readiness_checks_the_database(products, client):
    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.get_json()["checks"]["database"]["status"] == "ok"


def test_readiness_fails_when_the_database_cannot_be_opened(tmp_path):
    harness = ProductsHarness(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        harness.products.database.dispose()
        for path in tmp_path.glob("p.db*"):
            path.unlink()
        (tmp_path / "p.db").mkdir()  # a directory where the database file was: SQLite cannot open it
        response = harness.client.get("/health/ready")
    finally:
        harness.close()
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"]["status"] == "fail"


def test_every_reservation_outcome_is_exported_from_zero(products, client):
    text_body = client.get("/metrics").get_data(as_text=True)

    for outcome in OUTCOMES:
        assert products.outcome(outcome) == 0
        assert f'tienda_stock_reservations_total{{outcome="{outcome}"}} 0.0' in text_body


def test_the_openapi_document_describes_every_route(products, client):
    document = client.get("/openapi.json").get_json()

    assert document["openapi"] == "3.1.0"
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    served = {
        (re.sub(r"<[^>]+>", "{id}", rule.rule), method)
        for rule in products.app.url_map.iter_rules()
        if rule.endpoint.startswith("products.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert len(served) == 13
    assert documented == served
    reserve = document["paths"]["/reservations"]["post"]
    assert reserve["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/ReservationCreate")
    assert set(reserve["responses"]) == {"200", "201", "400", "401", "403", "409", "413", "422"}
    assert reserve["security"] == [{"bearerAuth": []}]


def test_a_reservation_request_makes_a_server_span_named_by_its_route(products, client):
    product = products.add_product(stock=5)
    client.post("/reservations", json={"reservation_id": "r-1", "items": [{"product_id": product.id, "quantity": 1}]})
    client.post("/reservations/r-1/release")

    names = [span.name for span in products.exporter.get_finished_spans()]

    assert "POST /reservations" in names
    assert "POST /reservations/<reservation_id>/release" in names


def test_importing_the_service_touches_no_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'untouched.db'}"
    code = "import services.products.app, services.products.api, services.products.store, services.products.catalog"

    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, check=True)

    assert list(tmp_path.iterdir()) == []
