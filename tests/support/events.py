"""What the shop's events left in its databases: the outboxes of orders and payments, notifications' rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import MetaData, text

from services.common.db import make_engine
from services.common.events import Event, Outbox, outbox_table
from tests.support.shop import Shop


def published(shop: Shop, service: str) -> list[Event]:
    engine = make_engine(shop.databases[service])
    try:
        with engine.connect() as connection:
            return Outbox(outbox_table(MetaData())).published(connection)
    finally:
        engine.dispose()


def unpublished(shop: Shop, service: str) -> int:
    engine = make_engine(shop.databases[service])
    try:
        with engine.connect() as connection:
            return Outbox(outbox_table(MetaData())).backlog(connection)[0]
    finally:
        engine.dispose()


def events_of(shop: Shop, order_ids: Iterable[int]) -> list[Event]:
    """The published events of these orders and of their payments."""
    wanted = set(order_ids)
    return [e for service in ("orders", "payments") for e in published(shop, service) if e.data["order_id"] in wanted]


def notification_rows(shop: Shop, order_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The notifications recorded for these orders, in the order they were recorded."""
    engine = make_engine(shop.databases["notifications"])
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, event_id, kind, order_id, user_id FROM notifications ORDER BY id")
            )
            return [dict(row._mapping) for row in rows if row.order_id in set(order_ids)]
    finally:
        engine.dispose()
