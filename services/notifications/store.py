"""Notifications storage: ``notifications`` (one row per applied event, ``event_id`` UNIQUE: the dedupe) and
``order_owners`` (which customer an order belongs to, learnt from order events)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, MetaData, String, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import ID, NAMING_CONVENTION, Database, from_row

from .domain import NewNotification, Notification, NotificationRepository


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class NotificationRow(Base):
    __tablename__ = "notifications"

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


class SqlNotificationRepository(NotificationRepository):
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, new: NewNotification) -> bool:
        try:
            with self.db.engine.begin() as connection:
                connection.execute(insert(NotificationRow).values(**asdict(new), created_at=datetime.now(UTC)))
                if new.user_id is not None:
                    known = connection.execute(
                        select(OrderOwnerRow.user_id).where(OrderOwnerRow.order_id == new.order_id)
                    ).first()
                    if known is None:
                        connection.execute(insert(OrderOwnerRow).values(order_id=new.order_id, user_id=new.user_id))
        except IntegrityError:
            return False  # event_id already applied (or, under a race, its order owner just written by a twin)
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
