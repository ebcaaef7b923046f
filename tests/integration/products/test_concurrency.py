"""Concurrent requests against a real threaded server, on SQLite and PostgreSQL: stock is never oversold and
never given back twice."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support.auth import ORDERS

WORKERS = 16


def reserve(base_url, reservation_id, *items):
    body = {"reservation_id": reservation_id, "items": [{"product_id": p, "quantity": q} for p, q in items]}
    return requests.post(f"{base_url}/reservations", json=body, headers=ORDERS, timeout=30)


def run_concurrently(calls):
    """Run the zero-argument callables from WORKERS threads; their results in order."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_fifty_buyers_of_ten_in_stock_leave_exactly_ten_reservations_and_no_stock(fresh_products):
    product = fresh_products.add_product("LAST-TEN", stock=10)

    with fresh_products.served() as url:
        responses = run_concurrently([lambda n=n: reserve(url, f"order-{n}", (product.id, 1)) for n in range(50)])
        held = [r.json()["reservation_id"] for r in responses if r.status_code == 201]
        stored = [
            requests.get(f"{url}/reservations/{rid}", headers=ORDERS, timeout=10).json()["status"] for rid in held
        ]

    assert Counter(r.status_code for r in responses) == {201: 10, 409: 40}
    assert all(r.json()["error"]["code"] == "insufficient_stock" for r in responses if r.status_code == 409)
    assert all(
        r.json()["error"]["details"] == [{"product_id": product.id, "requested": 1, "available": 0}]
        for r in responses
        if r.status_code == 409
    )
    assert stored == ["held"] * 10
    assert fresh_products.stock(product.id) == 0
    assert (fresh_products.outcome("held"), fresh_products.outcome("insufficient_stock")) == (10, 40)


def test_reservations_taking_the_same_products_in_opposite_orders_neither_deadlock_nor_oversell(fresh_products):
    a = fresh_products.add_product("A", stock=12)
    b = fresh_products.add_product("B", stock=12)
    orders = [((a.id, 1), (b.id, 1)) if n % 2 else ((b.id, 1), (a.id, 1)) for n in range(30)]

    with fresh_products.served() as url:
        responses = run_concurrently([lambda n=n: reserve(url, f"order-{n}", *orders[n]) for n in range(30)])

    assert Counter(r.status_code for r in responses) == {201: 12, 409: 18}
    assert (fresh_products.stock(a.id), fresh_products.stock(b.id)) == (0, 0)


def test_the_same_reservation_sent_concurrently_is_held_once(fresh_products):
    product = fresh_products.add_product("MUG", stock=100)

    with fresh_products.served() as url:
        responses = run_concurrently([lambda: reserve(url, "order-1", (product.id, 7)) for _ in range(16)])

    assert Counter(r.status_code for r in responses) == {201: 1, 200: 15}
    assert all(r.json() == responses[0].json() for r in responses)
    assert fresh_products.stock(product.id) == 93
    assert fresh_products.outcome("held") == 1


def test_releasing_one_reservation_from_many_threads_gives_its_stock_back_exactly_once(fresh_products):
    mug = fresh_products.add_product("MUG", stock=10)
    tee = fresh_products.add_product("TEE", stock=10)

    with fresh_products.served() as url:
        assert reserve(url, "order-1", (mug.id, 3), (tee.id, 5)).status_code == 201
        responses = run_concurrently(
            [
                lambda: requests.post(f"{url}/reservations/order-1/release", headers=ORDERS, timeout=30)
                for _ in range(16)
            ]
        )

    assert [r.status_code for r in responses] == [200] * 16
    assert all(r.json()["status"] == "released" for r in responses)
    assert (fresh_products.stock(mug.id), fresh_products.stock(tee.id)) == (10, 10)
    assert fresh_products.outcome("released") == 1


def test_a_commit_racing_a_release_lets_exactly_one_of_them_win(fresh_products):
    mug = fresh_products.add_product("MUG", stock=10)

    with fresh_products.served() as url:
        assert reserve(url, "order-1", (mug.id, 4)).status_code == 201
        actions = ["commit", "release"] * 8
        responses = run_concurrently(
            [
                lambda action=action: requests.post(f"{url}/reservations/order-1/{action}", headers=ORDERS, timeout=30)
                for action in actions
            ]
        )
        final = requests.get(f"{url}/reservations/order-1", headers=ORDERS, timeout=10).json()["status"]

    winner, loser = ("commit", "release") if final == "committed" else ("release", "commit")
    by_action = {
        action: {r.status_code for a, r in zip(actions, responses, strict=True) if a == action} for action in actions
    }
    assert by_action == {winner: {200}, loser: {409}}
    assert fresh_products.stock(mug.id) == (6 if final == "committed" else 10)
    assert (fresh_products.outcome("committed"), fresh_products.outcome("released")) in ((1, 0), (0, 1))
