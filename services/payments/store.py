"""Payments storage: the ``payments`` table and the repository implementing the domain's port.

``saga_id`` is UNIQUE: it is what makes a charge idempotent per saga under concurrency (the second
insert for a saga fails, whichever process or thread it comes from). ``order_id`` is kept for reading only and
is not unique: an orders database restored or reset alone hands out old ids again, each with a new saga.
State changes are conditional UPDATEs (``... WHERE status = 'processing'`` / ``'completed'``), so two
refunds of one payment cannot both succeed, and a payment the request and the reconciler both settle is settled
once. Each repository method is its own short transaction: no transaction
or connection is held while the provider is being asked.

The table holds the card's brand and last four digits only.

Settling a payment ``completed`` records ``payment.captured``, and a refund ``payment.refunded``, in the
``outbox`` table in the transaction of that UPDATE: the change and its event commit together or not at all
(the relay, :mod:`services.common.relay`, publishes them). A void tells the customer nothing the order's
``order.failed`` or ``order.cancelled`` does not, so it records no event.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    String,
    Table,
    bindparam,
    false,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.contract import CURRENCY
from services.common.db import ID, Database, from_row, keyset, one_of, rows_matched, schema_metadata
from services.common.events import PAYMENT_CAPTURED, PAYMENT_REFUNDED, Outbox, outbox_table

from .contract import STATUSES
from .domain import (
    COMPLETED,
    PROCESSING,
    REFUNDED,
    VOIDED,
    DuplicateSaga,
    NewPayment,
    Payment,
    PaymentRepository,
)


class Base(DeclarativeBase):
    metadata = schema_metadata()


class PaymentRow(Base):
    __tablename__ = "payments"
    __table_args__ = (
        one_of("status", STATUSES),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),  # a void's tombstone is 0
        Index("ix_payments_status_created_at", "status", "created_at"),  # the reconciler's query
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    saga_id: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    card_brand: Mapped[str] = mapped_column(String(16))
    card_last4: Mapped[str] = mapped_column(String(4))
    decline_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    void_requested: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)


OUTBOX = outbox_table(Base.metadata)
#: The table for SQLAlchemy Core: a charge's insert and settle, and refunds, are one statement each with RETURNING.
PAYMENTS = cast(Table, PaymentRow.__table__)
# A charge's statements are built once and run with parameters: built per call, each cost SQLAlchemy a cache key
# walk of its values on every execution (docs/overhead-analysis.md). ``b_`` names keep parameters apart from columns.
_INSERT = insert(PAYMENTS).returning(*PAYMENTS.c)
_SETTLE = (
    update(PAYMENTS)
    .where(PAYMENTS.c.id == bindparam("b_id"), PAYMENTS.c.status == PROCESSING)
    .values(status=bindparam("b_status"), decline_code=bindparam("b_decline_code"), updated_at=bindparam("b_now"))
    .returning(*PAYMENTS.c)
)


def _payment(row: PaymentRow) -> Payment:
    return from_row(Payment, row)


class SqlPaymentRepository(PaymentRepository):
    def __init__(self, db: Database, outbox: Outbox | None = None) -> None:
        self.db = db
        self.outbox = outbox or Outbox(OUTBOX)

    def add(self, new: NewPayment) -> Payment:
        now = datetime.now(UTC)
        values = {**asdict(new), "status": PROCESSING, "decline_code": None, "created_at": now, "updated_at": now}
        return self._insert(new.saga_id, values)

    def audit_page(self, *, after: str | None, until: str | None, limit: int) -> list[Payment]:
        page = keyset(select(PaymentRow), PaymentRow.saga_id, after=after, until=until, limit=limit)
        with self.db.session() as session:
            return [_payment(row) for row in session.scalars(page)]

    def add_void(self, saga_id: str) -> Payment:
        now = datetime.now(UTC)
        values = {
            "saga_id": saga_id, "order_id": 0, "status": VOIDED, "amount_cents": 0, "currency": CURRENCY,
            "card_brand": "unknown", "card_last4": "", "decline_code": None, "created_at": now, "updated_at": now,
            "void_requested": False,
        }  # fmt: skip
        return self._insert(saga_id, values)

    def _insert(self, saga_id: str, values: dict[str, object]) -> Payment:
        """Insert the payment of ``saga_id`` (Core, the new row as the INSERT's answer); DuplicateSaga when the
        saga has one."""
        try:
            with self.db.transaction() as connection:
                row = connection.execute(_INSERT, values).one()
        except IntegrityError:
            existing = self.for_saga(saga_id)
            if existing is None:  # some other constraint failed
                raise
            raise DuplicateSaga(existing) from None
        return from_row(Payment, row)

    def request_void(self, payment_id: int) -> bool:
        with self.db.session() as session:
            result = session.execute(
                update(PaymentRow)
                .where(PaymentRow.id == payment_id, PaymentRow.status == PROCESSING)
                .values(void_requested=True, updated_at=datetime.now(UTC))
            )
            return rows_matched(result) == 1

    def get(self, payment_id: int) -> Payment | None:
        with self.db.session() as session:
            row = session.get(PaymentRow, payment_id)
            return None if row is None else _payment(row)

    def for_saga(self, saga_id: str) -> Payment | None:
        with self.db.session() as session:
            row = session.scalars(select(PaymentRow).where(PaymentRow.saga_id == saga_id)).one_or_none()
            return None if row is None else _payment(row)

    def for_order(self, order_id: int) -> list[Payment]:
        with self.db.session() as session:
            rows = session.scalars(select(PaymentRow).where(PaymentRow.order_id == order_id).order_by(PaymentRow.id))
            return [_payment(row) for row in rows]

    def settle(self, payment_id: int, status: str, decline_code: str | None) -> Payment | None:
        with self.db.transaction() as connection:
            row = connection.execute(
                _SETTLE,
                {"b_id": payment_id, "b_status": status, "b_decline_code": decline_code, "b_now": datetime.now(UTC)},
            ).one_or_none()
            if row is None:
                return None
            payment = from_row(Payment, row)
            if status == COMPLETED:
                self.outbox.add(connection, PAYMENT_CAPTURED, payment.id, payment.event_data())
            return payment

    def processing_since(self, cutoff: datetime) -> list[Payment]:
        with self.db.session() as session:
            rows = session.scalars(
                select(PaymentRow)
                .where(PaymentRow.status == PROCESSING, PaymentRow.created_at < cutoff)
                .order_by(PaymentRow.id)
            )
            return [_payment(row) for row in rows]

    def refund(self, payment_id: int) -> Payment | None:
        with self.db.transaction() as connection:
            row = connection.execute(
                update(PAYMENTS)
                .where(PAYMENTS.c.id == payment_id, PAYMENTS.c.status == COMPLETED)
                .values(status=REFUNDED, updated_at=datetime.now(UTC))
                .returning(*PAYMENTS.c)
            ).one_or_none()
            if row is None:
                return None
            payment = from_row(Payment, row)
            self.outbox.add(connection, PAYMENT_REFUNDED, payment.id, payment.event_data())
            return payment
