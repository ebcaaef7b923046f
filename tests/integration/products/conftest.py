"""Fixtures of the products integration tests: the app on a shared or a brand-new database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.databases import database
from tests.support.products import ProductsHarness


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared_database_url(request, tmp_path_factory) -> Iterator[str]:
    """One database per test module and backend, emptied before each test (see :func:`products`).

    Creating a PostgreSQL database costs over a second, so tests that do not depend on a brand-new database
    share one; those that do (migrations, first-start seeding, concurrency) use ``database_url``.
    """
    with database(request.param, tmp_path_factory.mktemp("products")) as url:
        yield url


@pytest.fixture
def products(shared_database_url) -> Iterator[ProductsHarness]:
    """A new app (fresh metrics, spans and logs) on an emptied database."""
    harness = ProductsHarness(shared_database_url)
    harness.empty_database()
    yield harness
    harness.close()


@pytest.fixture
def fresh_products(database_url) -> Iterator[ProductsHarness]:
    """A new app on a brand-new database."""
    harness = ProductsHarness(database_url)
    yield harness
    harness.close()


@pytest.fixture
def client(products):
    return products.client
