"""The order and the values around it: statuses and the transitions between them, lines, reservations,
payments and the stored answer of a checkout."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

from services.common.cards import INVALID_CARD, Card
from services.common.contract import MAX_ID, utc_timestamp
from services.common.errors import DomainError, Failure, InvalidInput, UpstreamFailure
from services.common.events import ORDER_CANCELLED, ORDER_CONFIRMED, ORDER_FAILED
from services.common.reservations import ReservedItem
from services.payments.contract import STATUSES as PAYMENT_STATUSES
from services.products.contract import UNKNOWN_PRODUCT, DuplicateProduct

from ..contract import MAX_ITEMS, MAX_QUANTITY, STATUSES, OrderOut, OrderStatus
from .errors import IllegalTransition, ReplayedError

PENDING, RESERVED, PAID, CONFIRMED, FAILED, CANCELLED, COMPENSATING, CANCELLING = STATUSES
#: The statuses of a payment as payments answers them (:class:`Payment`).
PAYMENT_PROCESSING, PAYMENT_COMPLETED, PAYMENT_DECLINED, PAYMENT_REFUNDED, PAYMENT_VOIDED = PAYMENT_STATUSES

#: The state machine: where an order may go from each status. Staying put is not a transition (a recovery
#: sweep saves an order unchanged to claim it; a compensation that fails again stays ``compensating``).
TRANSITIONS: Final[Mapping[OrderStatus, frozenset[OrderStatus]]] = {
    PENDING: frozenset({RESERVED, COMPENSATING, FAILED}),
    RESERVED: frozenset({PAID, COMPENSATING, FAILED}),
    PAID: frozenset({CONFIRMED, COMPENSATING, FAILED}),
    COMPENSATING: frozenset({FAILED}),
    CONFIRMED: frozenset({CANCELLING}),
    CANCELLING: frozenset({CANCELLED}),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}

#: ``tienda_orders_total`` outcomes: the answer an order got.
OrderOutcome = Literal["confirmed", "declined", "out_of_stock", "failed"]
OUTCOMES: Final[tuple[OrderOutcome, ...]] = get_args(OrderOutcome)

#: The failure reason of an order a crash interrupted (its request never got an answer).
INTERRUPTED: Final = "interrupted"
#: Orders refused because the request itself was invalid (a product that does not exist, a card payments
#: rejects as malformed). They are kept for the idempotency record and the audit trail, but were never
#: placed: the customer does not see them in ``GET /orders`` or ``GET /orders/{id}``.
REJECTED_REASONS: Final = frozenset({UNKNOWN_PRODUCT, INVALID_CARD})
#: The event an order records (in the transaction of the change, ``store.py``) when it reaches each status.
STATUS_EVENTS: Final[Mapping[OrderStatus, str]] = {
    CONFIRMED: ORDER_CONFIRMED,
    FAILED: ORDER_FAILED,
    CANCELLED: ORDER_CANCELLED,
}


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Line:
    product_id: int
    quantity: int


def new_saga_id() -> str:
    """A random UUID4 as 32 lowercase hex digits."""
    return uuid.uuid4().hex


def validate_lines(lines: Sequence[Line]) -> None:
    """The order-level rules: 1..20 lines, distinct products, quantities 1..100, positive product ids."""
    if not 1 <= len(lines) <= MAX_ITEMS:
        raise InvalidInput(f"An order has 1 to {MAX_ITEMS} items.")
    for line in lines:
        if not 0 < line.product_id <= MAX_ID or not 1 <= line.quantity <= MAX_QUANTITY:
            raise InvalidInput(f"Each item needs a positive product_id and a quantity from 1 to {MAX_QUANTITY}.")
    seen: set[int] = set()
    for line in lines:
        if line.product_id in seen:
            raise DuplicateProduct(
                "Each product may appear only once; add up the quantities instead.",
                details=[{"field": "items", "message": f"product {line.product_id} appears more than once"}],
            )
        seen.add(line.product_id)


@dataclass(frozen=True)
class PlaceOrder:
    user_id: int
    lines: tuple[Line, ...]
    card: Card = field(repr=False)
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    items: tuple[ReservedItem, ...]
    currency: str


@dataclass(frozen=True)
class Payment:
    id: int
    order_id: int
    status: str
    amount_cents: int
    currency: str

    @property
    def completed(self) -> bool:
        return self.status == PAYMENT_COMPLETED

    @property
    def processing(self) -> bool:
        return self.status == PAYMENT_PROCESSING


@dataclass(frozen=True)
class Outcome:
    """An answer to ``POST /orders``: the HTTP status and the JSON body (errors without ``request_id``)."""

    status: int
    body: dict[str, Any]
    #: Served again from storage for a request with the same idempotency key (the answer says so in a header).
    replayed: bool = field(default=False, compare=False)

    @property
    def is_error(self) -> bool:
        return self.status >= 400

    @classmethod
    def of_error(cls, error: DomainError) -> Outcome:
        body: dict[str, Any] = {"code": error.code, "message": error.message}
        if error.details is not None:
            body["details"] = error.details
        return cls(error.status, {"error": body})

    def as_error(self) -> ReplayedError:
        error = self.body["error"]
        return ReplayedError(self.status, error["code"], error["message"], error.get("details"))


@dataclass(frozen=True)
class AuditedOrder:
    """What the integrity audit reads of an order: its ids, status, total and moments, without its items or
    stored answer. The audit reads every order every few seconds; loading whole orders for it made the orders
    service's heap grow under load (``docs/benchmarks.md``, Memory)."""

    id: int
    saga_id: str
    status: OrderStatus
    total_cents: int | None
    created_at: datetime
    updated_at: datetime
    status_changed_at: datetime


@dataclass
class OrderItem:
    product_id: int
    quantity: int
    name: str | None = None
    unit_price_cents: int | None = None


@dataclass
class Order:
    user_id: int
    items: list[OrderItem]
    status: OrderStatus = PENDING
    id: int | None = None
    failure_reason: str | None = None
    total_cents: int | None = None
    currency: str | None = None
    payment_id: int | None = None
    idempotency_key: str | None = None
    #: The checkout's id at products and payments (their idempotency key), random so that it never repeats,
    #: even when the orders database is restored or reset alone and hands out old order ids again.
    saga_id: str = field(default_factory=new_saga_id)
    request_fingerprint: str | None = field(default=None, repr=False)
    outcome: Outcome | None = field(default=None, repr=False)
    version: int = 0
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    #: The status as the repository last read or wrote it at ``version``: a save that changes it records the
    #: new status's :meth:`event` (``store.py``).
    stored_status: OrderStatus | None = field(default=None, repr=False, compare=False)
    #: When the order entered its status: the start of a cancel, for the integrity bound (``updated_at`` moves
    #: with every retry of the sweep, ``created_at`` says nothing of a cancel asked for later).
    status_changed_at: datetime = field(default_factory=utcnow)

    @property
    def number(self) -> int:
        """The id the repository gave the order (every order the use cases handle has been stored)."""
        if self.id is None:
            raise ValueError("The order has not been stored yet.")
        return self.id

    @property
    def reservation_id(self) -> str:
        """The reservation at products is the saga's."""
        return self.saga_id

    @property
    def rejected(self) -> bool:
        """Refused as invalid input: never placed, so never shown to the customer."""
        return self.status == FAILED and self.failure_reason in REJECTED_REASONS

    def move_to(self, status: OrderStatus) -> None:
        """Change the status along :data:`TRANSITIONS`; raises :class:`IllegalTransition` otherwise."""
        if status != self.status and status not in TRANSITIONS[self.status]:
            raise IllegalTransition(f"Order {self.id} cannot go from {self.status} to {status}.")
        if status != self.status:
            self.status_changed_at = utcnow()
        self.status = status

    def log_fields(self, event: str, **fields: object) -> dict[str, object]:
        """The ``extra`` of a log line about this order: the event, the order's and its customer's ids, ``fields``."""
        return {"event": event, "order_id": self.id, "user_id": self.user_id, **fields}

    def lines(self) -> list[Line]:
        return [Line(item.product_id, item.quantity) for item in self.items]

    def price(self) -> tuple[int, str]:
        """``(total_cents, currency)`` once the stock is reserved."""
        if self.total_cents is None or self.currency is None:
            raise ValueError(f"Order {self.id} has no price before its stock is reserved.")
        return self.total_cents, self.currency

    def apply_reservation(self, reservation: Reservation) -> None:
        """Take names and prices from what products held (it must be exactly what was asked for): reserved."""
        held = {item.product_id: item for item in reservation.items}
        if sorted((i.product_id, i.quantity) for i in reservation.items) != sorted(
            (i.product_id, i.quantity) for i in self.items
        ):
            raise UpstreamFailure("products", Failure.BAD_RESPONSE, "The reservation does not match the order.")
        for item in self.items:
            item.name = held[item.product_id].name
            item.unit_price_cents = held[item.product_id].unit_price_cents
        self.total_cents = sum(i.quantity * held[i.product_id].unit_price_cents for i in self.items)
        self.currency = reservation.currency
        self.move_to(RESERVED)

    def event(self) -> tuple[str, dict[str, Any]] | None:
        """``(type, data)`` of the event reaching the current status records; None for a status that records
        none, and for a rejected order (it was never placed, so there is nothing to tell anyone)."""
        event_type = STATUS_EVENTS.get(self.status)
        if event_type is None or self.rejected:
            return None
        data: dict[str, Any] = {
            "order_id": self.number,
            "user_id": self.user_id,
            "total_cents": self.total_cents,
            "currency": self.currency,
            "saga_id": self.saga_id,
        }
        if self.status == FAILED:
            data["reason"] = self.failure_reason
        return event_type, data

    def to_dict(self) -> dict[str, Any]:
        """The order as the API shows it: the fields of :class:`~services.orders.contract.OrderOut`."""
        shown = {name: getattr(self, name) for name in OrderOut.model_fields}
        return shown | {
            "items": [asdict(item) for item in self.items],
            "created_at": utc_timestamp(self.created_at, "microseconds"),
            "updated_at": utc_timestamp(self.updated_at, "microseconds"),
        }
