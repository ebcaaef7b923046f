"""Domain events and the transactional outbox they wait in until the relay publishes them.

An event is written **in the same transaction as the state change it reports** (:meth:`Outbox.add` on the
connection of that transaction), so an order cannot confirm without its ``order.confirmed`` being recorded,
and no event exists for a change that rolled back. :mod:`services.common.relay` then publishes pending
events to RabbitMQ, oldest first, and marks each sent only once the broker confirmed it: delivery is at
least once, and consumers dedupe by :attr:`Event.id`.

The message contract (the body of every message on the ``tienda.events`` exchange, routing key = ``type``)::

    {"id": "3f0c...", "type": "order.confirmed", "aggregate_type": "order", "aggregate_id": "42",
     "version": 3, "occurred_at": "2026-12-02T10:00:00+00:00", "data": {...}}

``version`` counts the aggregate's events from 1, so a consumer can tell their order. The W3C trace context
and ``X-Request-ID`` of the request that caused the event travel in the message headers
(:mod:`telemetry.messaging`), stored beside the event until it is sent.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    select,
    update,
)

from telemetry import messaging

from .contract import HEX_UUID
from .db import ID, as_utc

#: The topic exchange every service publishes its events to.
EXCHANGE = "tienda.events"

ORDER_CONFIRMED = "order.confirmed"
ORDER_FAILED = "order.failed"
ORDER_CANCELLED = "order.cancelled"
PAYMENT_CAPTURED = "payment.captured"
PAYMENT_REFUNDED = "payment.refunded"
#: Every event type the shop publishes, with the aggregate it belongs to.
EVENT_TYPES = {
    ORDER_CONFIRMED: "order",
    ORDER_FAILED: "order",
    ORDER_CANCELLED: "order",
    PAYMENT_CAPTURED: "payment",
    PAYMENT_REFUNDED: "payment",
}


class Event(BaseModel):
    """The body of an event message (the contract between producers and consumers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=rf"^{HEX_UUID}$")
    type: str = Field(min_length=1, max_length=64)
    aggregate_type: str = Field(min_length=1, max_length=32)
    aggregate_id: str = Field(min_length=1, max_length=64)
    version: int = Field(ge=1)
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class PendingEvent:
    """An event in the outbox: the message body, and the headers of the request that caused it."""

    position: int
    event: Event
    headers: dict[str, str] = field(default_factory=dict)


def outbox_table(metadata: MetaData) -> Table:
    """The ``outbox`` table in ``metadata`` (each service that publishes has one in its own database)."""
    return Table(
        "outbox",
        metadata,
        Column("position", ID, primary_key=True, autoincrement=True),
        Column("event_id", String(32), nullable=False, unique=True),
        Column("type", String(64), nullable=False),
        Column("aggregate_type", String(32), nullable=False),
        Column("aggregate_id", String(64), nullable=False),
        Column("version", Integer, nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("data", Text, nullable=False),
        Column("headers", Text, nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True, index=True),
        UniqueConstraint("aggregate_type", "aggregate_id", "version", name="uq_outbox_aggregate_version"),
    )


class Outbox:
    """Writes events beside state changes and hands pending ones to the relay."""

    def __init__(self, table: Table) -> None:
        self.table = table
        t = table
        # The next version is read inside the INSERT: one statement (and one round trip) instead of two. Built
        # once and run with parameters: built per event it cost SQLAlchemy a cache key walk on every insert.
        next_version = (
            select(func.coalesce(func.max(t.c.version), 0) + 1)
            .where(t.c.aggregate_type == bindparam("b_aggregate_type"), t.c.aggregate_id == bindparam("b_aggregate_id"))
            .scalar_subquery()
        )
        self._insert = t.insert().values(version=next_version).returning(t.c.version)

    def add(self, connection: Connection, event_type: str, aggregate_id: str | int, data: dict[str, Any]) -> Event:
        """Record ``event_type`` for ``aggregate_id`` in the caller's transaction; the version is the next one.

        The trace context and request ID current now are stored with it.
        """
        aggregate_type = EVENT_TYPES[event_type]
        common = {
            "type": event_type,
            "aggregate_type": aggregate_type,
            "aggregate_id": str(aggregate_id),
            "occurred_at": datetime.now(UTC),
        }
        event_id = uuid.uuid4().hex
        version: int = connection.execute(
            self._insert,
            {
                "event_id": event_id,
                "data": json.dumps(data, separators=(",", ":"), sort_keys=True),
                "headers": json.dumps(messaging.capture(), separators=(",", ":")),
                "b_aggregate_type": aggregate_type,
                "b_aggregate_id": str(aggregate_id),
                **common,
            },
        ).scalar_one()
        return Event(id=event_id, version=version, data=data, **common)

    def pending(self, connection: Connection, limit: int) -> list[PendingEvent]:
        """The oldest ``limit`` events not yet published, in the order they were recorded."""
        t = self.table
        query = select(t).where(t.c.published_at.is_(None)).order_by(t.c.position).limit(limit)
        return [_pending_event(row) for row in connection.execute(query).mappings()]

    def mark_published(self, connection: Connection, positions: list[int]) -> None:
        if positions:
            t = self.table
            connection.execute(update(t).where(t.c.position.in_(positions)).values(published_at=datetime.now(UTC)))

    def backlog(self, connection: Connection) -> tuple[int, datetime | None]:
        """How many events wait, and when the oldest of them happened."""
        t = self.table
        count, oldest = connection.execute(
            select(func.count(), func.min(t.c.occurred_at)).where(t.c.published_at.is_(None))
        ).one()
        assert isinstance(count, int) and (oldest is None or isinstance(oldest, datetime))
        return count, as_utc(oldest) if oldest is not None else None

    def published(self, connection: Connection) -> list[Event]:
        """Every published event, oldest first (tests compare them with what consumers applied)."""
        t = self.table
        query = select(t).where(t.c.published_at.is_not(None)).order_by(t.c.position)
        return [_pending_event(row).event for row in connection.execute(query).mappings()]


def _pending_event(row: Any) -> PendingEvent:
    return PendingEvent(
        position=row["position"],
        event=Event(
            id=row["event_id"],
            type=row["type"],
            aggregate_type=row["aggregate_type"],
            aggregate_id=row["aggregate_id"],
            version=row["version"],
            occurred_at=as_utc(row["occurred_at"]),
            data=json.loads(row["data"]),
        ),
        headers=json.loads(row["headers"]),
    )
