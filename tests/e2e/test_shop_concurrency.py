"""Fifty customers race for ten items: exactly ten orders confirm, stock ends at zero, never below."""

from concurrent.futures import ThreadPoolExecutor

import pytest


def _race(shop):
    product = shop.create_product(stock=10)
    tokens = [shop.register()[1] for _ in range(5)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(
            pool.map(lambda i: shop.order(tokens[i % 5], [{"product_id": product["id"], "quantity": 1}]), range(50))
        )
    statuses = sorted(r.status_code for r in responses)
    return product, statuses


@pytest.mark.parametrize("shop_fixture", ["shop", "shop_postgres"])
def test_fifty_parallel_orders_for_ten_items_confirm_exactly_ten(shop_fixture, request):
    shop = request.getfixturevalue(shop_fixture)
    product, statuses = _race(shop)
    assert statuses.count(201) == 10
    assert statuses.count(409) == 40
    assert shop.product(product["id"])["stock"] == 0
