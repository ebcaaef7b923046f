"""Upgrading a shop that ran before saga ids: an old order and its charge keep one shared key, ``order-{id}``.

Products already holds such an order's reservation as ``order-{id}``; if the orders and payments migrations gave
them unrelated random ids, recovering or cancelling that order would void and release things that do not exist,
and the audit would find every old charge without its order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from services.common.db import migrate

SERVICES = Path(__file__).resolve().parents[3] / "services"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'upgrade.db'}")
    yield engine
    engine.dispose()


def upgraded(engine, service: str, old_rows: str, query: str) -> list[tuple]:
    """``query``'s rows after ``old_rows`` (an INSERT; ``:now`` is NOW) went in at 0001 and the rest ran."""
    migrations = SERVICES / service / "migrations"
    migrate(engine, service, migrations, target="0001")
    with engine.begin() as c:
        c.execute(text(old_rows), {"now": NOW})
    migrate(engine, service, migrations)
    with engine.begin() as c:
        return [tuple(row) for row in c.execute(text(query))]


def test_an_order_placed_before_saga_ids_keeps_its_old_key_as_its_saga_id(engine):
    rows = upgraded(
        engine,
        "orders",
        "INSERT INTO orders (id, user_id, status, version, created_at, updated_at) "
        "VALUES (41, 1, 'confirmed', 1, :now, :now), (42, 1, 'reserved', 1, :now, :now)",
        "SELECT id, saga_id FROM orders ORDER BY id",
    )
    assert rows == [(41, "order-41"), (42, "order-42")]


def test_a_charge_made_before_saga_ids_is_keyed_by_its_orders_old_key(engine):
    rows = upgraded(
        engine,
        "payments",
        "INSERT INTO payments (order_id, status, amount_cents, currency, card_brand, card_last4, "
        "created_at, updated_at) VALUES (41, 'completed', 1250, 'EUR', 'visa', '4242', :now, :now)",
        "SELECT order_id, saga_id, status FROM payments",
    )
    assert rows == [(41, "order-41", "completed")]
