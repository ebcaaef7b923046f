"""Notifications storage: ``notifications`` (one row per applied event, ``event_id`` UNIQUE: the dedupe) and
``order_owners`` (which customer an order belongs to, learnt from order events)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import get_args

from sqlalchemy import BigInteger, Connection, DateTime, String, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import ID, Database, from_row, one_of, schema_metadata

from .contract import Kind
from .domain import NewNotification, Notification, NotificationRepository


class Base(DeclarativeBase):
    metadata = schema_metadata()


class NotificationRow(Base):
    __tablename__ = "notifications"
    __table_args__ = (one_of("kind", get_args(Kind)),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int] = mapped_column(BigInteger, index=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    message: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrderOwnerRow(Base):
    __tablename__ = "order_owners"

    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)


def _insert(connection: Connection) -> Callable[..., postgresql.Insert | sqlite.Insert]:
    """The dialect's INSERT, which has ON CONFLICT (PostgreSQL and SQLite, the two databases the shop runs on)."""
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


class SqlNotificationRepository(NotificationRepository):
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, new: NewNotification) -> bool:
        with self.db.engine.begin() as connection:
            # Only a repeated event_id is a duplicate. Any other refusal (a CHECK) raises: the consumer retries the
            # event and then dead-letters it, where counting it as a repeat would drop it without a trace.
            row = _insert(connection)(NotificationRow).values(**asdict(new), created_at=datetime.now(UTC))
            inserted = connection.execute(
                row.on_conflict_do_nothing(index_elements=[NotificationRow.event_id]).returning(NotificationRow.id)
            )
            if inserted.first() is None:
                return False  # event_id already applied
            if new.user_id is not None:
                # Insert-if-absent: another event of the order, applied at the same moment by a second consumer,
                # may be writing the owner too. Its key must not fail this event's transaction, or the event's
                # notification would be lost.
                owner = _insert(connection)(OrderOwnerRow).values(order_id=new.order_id, user_id=new.user_id)
                connection.execute(owner.on_conflict_do_nothing(index_elements=[OrderOwnerRow.order_id]))
        return True

    def page(self, user_id: int | None, limit: int, offset: int) -> list[Notification]:
        owner = func.coalesce(NotificationRow.user_id, OrderOwnerRow.user_id)
        query = (
            select(NotificationRow, owner.label("owner"))
            .outerjoin(OrderOwnerRow, OrderOwnerRow.order_id == NotificationRow.order_id)
            .order_by(NotificationRow.occurred_at.desc(), NotificationRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        if user_id is not None:
            query = query.where(owner == user_id)
        with self.db.session() as session:
            rows = session.execute(query).all()
        return [from_row(Notification, row, user_id=found) for row, found in rows]
