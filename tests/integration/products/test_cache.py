"""The products service's Redis cache (the Redis on 127.0.0.1:6379): cache-aside reads, invalidation on every write
and stock change, Redis spans, and reads that still succeed, from the database, when Redis is down."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis

from tests.support.procs import free_port
from tests.support.products import ADMIN, ProductsHarness

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def cached(shared_database_url):
    """The products app with the cache on, its keys under a prefix of its own (emptied afterwards)."""
    prefix = f"test:products:{uuid.uuid4().hex}"
    harness = ProductsHarness(
        shared_database_url, redis_url=REDIS_URL, product_cache_key_prefix=prefix, product_cache_ttl_seconds=60
    )
    harness.empty_database()
    yield harness
    harness.close()
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def cache_requests(harness: ProductsHarness, result: str) -> float | None:
    return harness.registry.get_sample_value("tienda_cache_requests_total", {"result": result})


def reserve(client, reservation_id: str, product_id: int, quantity: int = 2):
    body = {"reservation_id": reservation_id, "items": [{"product_id": product_id, "quantity": quantity}]}
    assert client.post("/reservations", json=body).status_code == 201


def test_a_second_read_is_answered_from_redis_with_a_redis_span(cached):
    product = cached.add_product(stock=7)

    first = cached.client.get(f"/products/{product.id}")
    second = cached.client.get(f"/products/{product.id}")

    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json()
    assert (cache_requests(cached, "miss"), cache_requests(cached, "hit"), cache_requests(cached, "error")) == (1, 1, 0)
    redis_spans = [s for s in cached.spans() if s.attributes.get("db.system") == "redis"]
    assert {s.name for s in redis_spans} >= {"GET", "SET"}


#: Each write or stock change, done to a product whose read and first page are cached: (what, the stock after).
CHANGES = [
    ("restock", 10),
    ("reserve", 5),
    ("release", 7),
    ("commit, return", 7),
    ("expiry sweep", 7),
    ("update", 5),
]


@pytest.mark.parametrize(("change", "stock_after"), CHANGES)
def test_every_write_and_stock_change_is_seen_by_the_next_read(cached, change, stock_after):
    product = cached.add_product(stock=7)
    client = cached.client
    if change != "reserve":
        reserve(client, "r-1", product.id)
    for _ in range(2):  # cached: the second read is a hit
        client.get(f"/products/{product.id}")
        client.get("/products")
    hits = cache_requests(cached, "hit")

    if change == "restock":
        assert client.post(f"/products/{product.id}/restock", json={"quantity": 5}, headers=ADMIN).status_code == 200
    elif change == "reserve":
        reserve(client, "r-1", product.id)
    elif change == "release":
        assert client.post("/reservations/r-1/release").status_code == 200
    elif change == "commit, return":
        assert client.post("/reservations/r-1/commit").status_code == 200
        assert client.post("/reservations/r-1/return").status_code == 200
    elif change == "expiry sweep":
        assert len(cached.products.service.expire_held(60, now=datetime.now(UTC) + timedelta(minutes=5))) == 1
    else:
        body = {"name": "Renamed", "description": "new", "price_cents": 999}
        assert client.put(f"/products/{product.id}", json=body, headers=ADMIN).status_code == 200

    one = client.get(f"/products/{product.id}").get_json()
    page = client.get("/products").get_json()
    assert one["stock"] == page["items"][0]["stock"] == cached.stock(product.id) == stock_after
    assert (one["name"] == "Renamed") is (change == "update")
    assert cache_requests(cached, "hit") == hits  # both reads went to the database again


def test_a_deleted_product_is_not_found_at_once_and_a_new_one_is_listed(cached):
    product = cached.add_product("A-1", stock=3)
    client = cached.client
    client.get(f"/products/{product.id}")
    client.get("/products")

    assert client.delete(f"/products/{product.id}", headers=ADMIN).status_code == 204
    created = {"sku": "B-1", "name": "B", "description": "", "price_cents": 100, "currency": "EUR", "stock": 1}
    assert client.post("/products", json=created, headers=ADMIN).status_code == 201

    assert client.get(f"/products/{product.id}").status_code == 404
    assert [item["sku"] for item in client.get("/products").get_json()["items"]] == ["B-1"]


def test_with_redis_down_product_reads_still_succeed_and_the_cache_counts_errors(shared_database_url):
    nothing_there = f"redis://127.0.0.1:{free_port()}/0"
    harness = ProductsHarness(shared_database_url, redis_url=nothing_there)
    try:
        harness.empty_database()
        product = harness.add_product(stock=4)
        reads = [harness.client.get(f"/products/{product.id}") for _ in range(3)]
        reserve(harness.client, "r-down", product.id)
        after = harness.client.get(f"/products/{product.id}")
        listed = harness.client.get("/products")

        assert [r.status_code for r in reads] == [200, 200, 200]
        assert (after.status_code, after.get_json()["stock"], listed.status_code) == (200, 2, 200)
        assert cache_requests(harness, "error") == 5
        assert (cache_requests(harness, "hit"), cache_requests(harness, "miss")) == (0, 0)
        # Said once (the product's creation found Redis down first), not once per read.
        assert [line["operation"] for line in harness.events("cache.unavailable")] == ["invalidate"]
    finally:
        harness.close()
