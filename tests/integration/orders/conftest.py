"""Fixtures of the orders integration tests: orders apps on the test's database."""

from __future__ import annotations

import pytest

from tests.support.orders import OrdersHarness


@pytest.fixture
def make_orders(database_url):
    """Build orders apps on the test's database (a second app shares it, like a second worker; pass it
    the first one's ``inventory`` and ``payments`` to share those too)."""
    made: list[OrdersHarness] = []

    def make(**config) -> OrdersHarness:
        harness = OrdersHarness(database_url, **config)
        made.append(harness)
        return harness

    yield make
    for harness in reversed(made):
        harness.close()


@pytest.fixture
def orders(make_orders) -> OrdersHarness:
    return make_orders()
