"""Storage of the products service: SQLAlchemy 2 models and the repository implementing the domain's port.

Every stock change is a single conditional ``UPDATE`` whose row count is the answer, never a read followed
by a write, so it is safe under concurrent transactions on PostgreSQL (row locks, READ COMMITTED) and on
SQLite (one writer at a time: ``BEGIN IMMEDIATE``, see :mod:`services.common.db`). The ``stock >= 0``
check constraint is the last line of defence.

The schema itself is created by the Alembic migrations in ``migrations/``; a test checks that they and
these models agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.sql.dml import Update

from services.common.contract import RESERVATION_ID_MAX_LENGTH
from services.common.db import Database, as_utc, from_row, keyset, one_of, rows_matched, schema_metadata
from services.common.reservations import ReservedItem
from services.common.stock import ProductStock

from .contract import DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH, SKU_MAX_LENGTH, STATUSES
from .domain import (
    COMMITTED,
    HELD,
    NewProduct,
    Product,
    ProductChanges,
    ProductRepository,
    Reservation,
    ReservationExists,
    ReservationState,
    SkuTaken,
    Transaction,
)


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = schema_metadata()


class ProductRow(Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price_cents > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(String(SKU_MAX_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX_LENGTH))
    price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    stock: Mapped[int] = mapped_column(BigInteger)
    #: The stock the product was created with, and the sum of its restocks: what the integrity audit
    #: balances stock, held and committed quantities against.
    initial_stock: Mapped[int] = mapped_column(BigInteger, server_default="0")
    restocked: Mapped[int] = mapped_column(BigInteger, server_default="0")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    def to_domain(self) -> Product:
        return from_row(Product, self)


class ReservationRow(Base):
    __tablename__ = "reservations"
    __table_args__ = (
        one_of("status", STATUSES),
        Index("ix_reservations_status_created_at", "status", "created_at"),  # the TTL sweeper's query
    )

    id: Mapped[str] = mapped_column(String(RESERVATION_ID_MAX_LENGTH), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    total_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ReservationItemRow(Base):
    __tablename__ = "reservation_items"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    reservation_id: Mapped[str] = mapped_column(
        String(RESERVATION_ID_MAX_LENGTH), ForeignKey("reservations.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(Integer, ForeignKey("products.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)


_live = ProductRow.deleted.is_(False)
#: The columns of a :class:`Product`, in its order.
_PRODUCT = (
    ProductRow.id, ProductRow.sku, ProductRow.name, ProductRow.description, ProductRow.price_cents,
    ProductRow.currency, ProductRow.stock,
)  # fmt: skip


# The statements of a reservation (reserve, commit, release: every checkout runs them) are built once and run with
# parameters: built per call, each cost SQLAlchemy a cache key walk of its values on every execution, about as much
# again as running it (docs/overhead-analysis.md). ``b_`` names keep the parameters apart from the columns.
_RESERVED_PRODUCTS = select(*_PRODUCT).where(ProductRow.id.in_(bindparam("b_ids", expanding=True)), _live)
_TAKE_STOCK = (
    update(ProductRow)
    .where(ProductRow.id == bindparam("b_id"), ProductRow.stock >= bindparam("b_quantity"), _live)
    .values(stock=ProductRow.stock - bindparam("b_quantity"), updated_at=bindparam("b_now"))
)
_ADD_STOCK = (
    update(ProductRow)
    .where(ProductRow.id == bindparam("b_id"))
    .values(stock=ProductRow.stock + bindparam("b_quantity"), updated_at=bindparam("b_now"))
)
_INSERT_RESERVATION = insert(ReservationRow)
_INSERT_RESERVATION_ITEMS = insert(ReservationItemRow)
_RESERVATION = (
    select(
        ReservationRow.id,
        ReservationRow.status,
        ReservationRow.total_cents,
        ReservationRow.currency,
        ReservationItemRow.product_id,
        ReservationItemRow.name,
        ReservationItemRow.quantity,
        ReservationItemRow.unit_price_cents,
    )
    .outerjoin(ReservationItemRow, ReservationItemRow.reservation_id == ReservationRow.id)
    .where(ReservationRow.id == bindparam("b_id"))
    .order_by(ReservationItemRow.position)
)
_MOVE_RESERVATION = (
    update(ReservationRow)
    .where(ReservationRow.id == bindparam("b_id"), ReservationRow.status == bindparam("b_from"))
    .values(status=bindparam("b_to"), updated_at=bindparam("b_now"))
)


class SqlTransaction(Transaction):
    """``touched``: the products whose row this transaction wrote (their cached reads are stale once it commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.touched: set[int] = set()

    @property
    def connection(self) -> Connection:
        """The transaction's connection, for the statements of a reservation: SQLAlchemy Core, which skips the
        ORM's execution layer (no row of theirs is ever an object in the session)."""
        return self.session.connection()

    def list_products(self, limit: int, offset: int) -> tuple[list[Product], int]:
        rows = self.session.scalars(select(ProductRow).where(_live).order_by(ProductRow.id).limit(limit).offset(offset))
        total = self.session.scalar(select(func.count()).select_from(ProductRow).where(_live))
        return [row.to_domain() for row in rows], total or 0

    def count_all_products(self) -> int:
        return self.session.scalar(select(func.count()).select_from(ProductRow)) or 0

    def get_product(self, product_id: int) -> Product | None:
        row = self.session.scalar(select(ProductRow).where(ProductRow.id == product_id, _live))
        return row.to_domain() if row is not None else None

    def get_products(self, product_ids: Iterable[int]) -> dict[int, Product]:
        ids = sorted(set(product_ids))
        if not ids:
            return {}
        rows = self.connection.execute(_RESERVED_PRODUCTS, {"b_ids": ids})
        # Selected as Product's fields in order (_PRODUCT): built by position, as the reservation path is hot.
        return {row.id: Product(*row) for row in rows}

    def add_product(self, product: NewProduct) -> Product:
        row = ProductRow(**asdict(product), initial_stock=product.stock, restocked=0, deleted=False)
        self.session.add(row)
        try:
            self.session.flush()
        except IntegrityError:
            raise SkuTaken(f"The sku {product.sku!r} is already in use.") from None
        self.touched.add(row.id)
        return row.to_domain()

    def update_product(self, product_id: int, changes: ProductChanges) -> bool:
        self.touched.add(product_id)
        return self._update(
            update(ProductRow).where(ProductRow.id == product_id, _live).values(**asdict(changes), updated_at=_now())
        )

    def delete_product(self, product_id: int) -> bool:
        self.touched.add(product_id)
        return self._update(
            update(ProductRow).where(ProductRow.id == product_id, _live).values(deleted=True, updated_at=_now())
        )

    def take_stock(self, product_id: int, quantity: int) -> bool:
        self.touched.add(product_id)
        return self._update(_TAKE_STOCK, {"b_id": product_id, "b_quantity": quantity, "b_now": _now()})

    def add_stock(self, product_id: int, quantity: int) -> None:
        self.touched.add(product_id)
        self._update(_ADD_STOCK, {"b_id": product_id, "b_quantity": quantity, "b_now": _now()})

    def restock(self, product_id: int, quantity: int) -> None:
        self.touched.add(product_id)
        self._update(
            update(ProductRow)
            .where(ProductRow.id == product_id)
            .values(stock=ProductRow.stock + quantity, restocked=ProductRow.restocked + quantity, updated_at=_now())
        )

    def audit_stock(self, *, after: int | None, until: int | None, limit: int) -> list[ProductStock]:
        if self.session.get_bind().dialect.name == "postgresql":
            # One snapshot for both reads: under READ COMMITTED each would see the reservations committed before
            # it, and the audit a product's stock gone but not yet held. SQLite's transactions already hold the
            # writer lock throughout (services/common/db.py).
            self.session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        page = keyset(select(ProductRow), ProductRow.id, after=after, until=until, limit=limit)
        quantities = {
            (product_id, status): int(total)
            for product_id, status, total in self.session.execute(
                select(ReservationItemRow.product_id, ReservationRow.status, func.sum(ReservationItemRow.quantity))
                .join(ReservationRow, ReservationRow.id == ReservationItemRow.reservation_id)
                .where(ReservationItemRow.product_id.in_(page.with_only_columns(ProductRow.id).scalar_subquery()))
                .group_by(ReservationItemRow.product_id, ReservationRow.status)
            )
        }
        return [
            ProductStock(
                row.id,
                row.stock,
                row.initial_stock,
                row.restocked,
                quantities.get((row.id, HELD), 0),
                quantities.get((row.id, COMMITTED), 0),
            )  # fmt: skip
            for row in self.session.scalars(page)
        ]

    def audit_reservations(self, *, after: str | None, until: str | None, limit: int) -> list[ReservationState]:
        page = keyset(select(ReservationRow), ReservationRow.id, after=after, until=until, limit=limit)
        return [ReservationState(row.id, row.status, as_utc(row.updated_at)) for row in self.session.scalars(page)]

    def stock_levels(self, product_ids: Iterable[int]) -> dict[int, int]:
        ids = sorted(set(product_ids))
        rows = self.session.execute(select(ProductRow.id, ProductRow.stock).where(ProductRow.id.in_(ids), _live))
        return {product_id: stock for product_id, stock in rows}

    def add_reservation(self, reservation: Reservation) -> None:
        now = _now()
        try:
            # A core INSERT, flushed now: the primary key is the idempotency guard, so a concurrent duplicate
            # must fail here, before any stock is touched.
            self.connection.execute(
                _INSERT_RESERVATION,
                {
                    "id": reservation.reservation_id,
                    "status": reservation.status,
                    "total_cents": reservation.total_cents,
                    "currency": reservation.currency,
                    "created_at": now,
                    "updated_at": now,
                },
            )
        except IntegrityError:
            raise ReservationExists(reservation.reservation_id) from None
        if not reservation.items:  # a release's tombstone holds nothing
            return
        self.connection.execute(
            _INSERT_RESERVATION_ITEMS,
            [
                {
                    "reservation_id": reservation.reservation_id,
                    "product_id": item.product_id,
                    "position": position,
                    "name": item.name,
                    "quantity": item.quantity,
                    "unit_price_cents": item.unit_price_cents,
                }
                for position, item in enumerate(reservation.items)
            ],
        )

    def get_reservation(self, reservation_id: str) -> Reservation | None:
        # One query for the reservation and its items (a row per item; one with no item columns for a tombstone).
        rows = self.connection.execute(_RESERVATION, {"b_id": reservation_id}).all()
        if not rows:
            return None
        items = tuple(
            ReservedItem(row.product_id, row.name, row.quantity, row.unit_price_cents)
            for row in rows
            if row.product_id is not None
        )
        first = rows[0]
        return Reservation(first.id, first.status, items, first.total_cents, first.currency)

    def set_reservation_status(self, reservation_id: str, from_status: str, to_status: str) -> bool:
        return self._update(
            _MOVE_RESERVATION, {"b_id": reservation_id, "b_from": from_status, "b_to": to_status, "b_now": _now()}
        )

    def held_since(self, cutoff: datetime) -> list[str]:
        rows = self.session.scalars(
            select(ReservationRow.id)
            .where(ReservationRow.status == HELD, ReservationRow.created_at < cutoff)
            .order_by(ReservationRow.created_at)
        )
        return list(rows)

    def _update(self, statement: Update, parameters: dict[str, Any] | None = None) -> bool:
        return rows_matched(self.connection.execute(statement, parameters)) == 1


class SqlProductRepository(ProductRepository):
    """``on_change(product_ids)`` is told, once a transaction has committed, which products it wrote (the cache's
    invalidation: every write and stock change goes through a transaction here, whoever made it)."""

    def __init__(self, db: Database, on_change: Callable[[set[int]], None] | None = None) -> None:
        self.db = db
        self.on_change = on_change

    @contextmanager
    def atomic(self) -> Iterator[SqlTransaction]:
        with self.db.session() as session:
            tx = SqlTransaction(session)
            yield tx
        if tx.touched and self.on_change is not None:
            self.on_change(tx.touched)
