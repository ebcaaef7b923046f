"""Orders business rules: the order, the ports it needs, and the checkout saga.

Plain Python: no Flask, no SQL, no HTTP. ``api.py`` parses requests and calls :class:`OrderService`;
``store.py`` implements :class:`OrderRepository`; ``clients.py`` implements :class:`Inventory` (the products
service) and :class:`Payments` (the payments service). Tests use fakes that subclass the same ports.

The saga behind ``POST /orders``, every transition persisted before the next remote call::

    pending ──reserve──▶ reserved ──charge──▶ paid ──commit──▶ confirmed
       │                    │                   │
       └─ out of stock,     └─ declined,        └─ products failed:
          unknown product,     bad card,           refund, release ──▶ failed
          products failed:     payments failed:
          (release) ──▶ failed (refund?), release ──▶ failed

A failure after a step that changed something elsewhere compensates the completed steps in reverse order
(refund, then release) and ends ``failed`` with a ``failure_reason``. When a compensation itself fails the
order is left ``compensating`` and :meth:`OrderService.recover_unfinished` finishes it later; that sweep also
picks up orders a crashed process left ``pending``, ``reserved`` or ``paid``.

An ``Idempotency-Key`` makes a checkout safe to retry: the first request with a key inserts the order with
that key (unique per user) and a keyed fingerprint of the request; the answer it gives is stored on the
order, and a replay with the same key and the same body gets that stored answer without running the saga
again. The fingerprint is an HMAC, so the stored value reveals nothing about the card.
"""

from __future__ import annotations

import abc
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from services.common.errors import Conflict, DomainError, InvalidInput, NotFound, PaymentDeclined, UpstreamUnavailable

from .contract import MAX_ID, MAX_ITEMS, MAX_QUANTITY

log = logging.getLogger("services.orders")

PENDING = "pending"
RESERVED = "reserved"
PAID = "paid"
CONFIRMED = "confirmed"
FAILED = "failed"
CANCELLED = "cancelled"
COMPENSATING = "compensating"
#: States a saga passes through; an order still in one after the grace period was interrupted.
UNFINISHED = (PENDING, RESERVED, PAID, COMPENSATING)


#: ``tienda_orders_total`` outcomes.
OUTCOMES = ("confirmed", "declined", "out_of_stock", "failed")
#: ``tienda_saga_compensations_total`` steps.
COMPENSATION_STEPS = ("refund", "release")

INTERRUPTED = "interrupted"
#: Orders refused because the request itself was invalid (a product that does not exist, a card payments
#: rejects as malformed). They are kept for the idempotency record and the audit trail, but were never
#: placed: the customer does not see them in ``GET /orders`` or ``GET /orders/{id}``.
REJECTED_REASONS = frozenset({"unknown_product", "invalid_card"})


def utcnow() -> datetime:
    return datetime.now(UTC)


# Errors ---------------------------------------------------------------------------------------------------


class OrderNotFound(NotFound):
    code = "order_not_found"


class NotCancellable(Conflict):
    code = "not_cancellable"


class DuplicateProduct(InvalidInput):
    code = "duplicate_product"


class OutOfStock(Conflict):
    """Products could not hold every item; ``details`` is ``[{product_id, requested, available}]``."""

    code = "insufficient_stock"


class UnknownProduct(InvalidInput):
    code = "unknown_product"


class InvalidCard(InvalidInput):
    """Payments refused the card as malformed (bad Luhn, past expiry, ...)."""

    code = "invalid_card"


class ReservationCommitted(Conflict):
    """A release was asked for a reservation that is already committed."""

    code = "reservation_committed"


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"


class IdempotencyKeyInProgress(Conflict):
    code = "idempotency_key_in_progress"


class StaleOrder(Conflict):
    """The order changed since it was read (another worker's recovery sweep took it over)."""

    code = "order_modified"


class UpstreamFailure(UpstreamUnavailable):
    """Another service could not be reached, timed out, failed, or answered outside its contract.

    ``service`` names it (``products``, ``payments``). ``outcome_unknown`` is False only when the request
    certainly never arrived (refused connection), so whatever it asked for did not happen.
    """

    def __init__(self, service: str, message: str, *, timeout: bool = False, outcome_unknown: bool = True) -> None:
        super().__init__(
            message,
            status=504 if timeout else 503,
            code="upstream_timeout" if timeout else "upstream_unavailable",
        )
        self.service = service
        self.timeout = timeout
        self.outcome_unknown = outcome_unknown


class ReplayedError(DomainError):
    """The stored error answer of an earlier request with the same idempotency key."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message, code=code, details=details)
        self.status = status


class DuplicateIdempotencyKey(Exception):
    """Raised by :meth:`OrderRepository.add`: this user already has an order with this key."""


# Values -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    product_id: int
    quantity: int


@dataclass(frozen=True)
class Card:
    """Card details as the customer sent them; the number and CVC never appear in a ``repr``."""

    number: str = field(repr=False)
    expiry: str
    cvc: str = field(repr=False)


@dataclass(frozen=True)
class PlaceOrder:
    user_id: int
    lines: tuple[Line, ...]
    card: Card = field(repr=False)
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ReservedItem:
    product_id: int
    name: str
    quantity: int
    unit_price_cents: int


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
        return self.status == "completed"

    @property
    def processing(self) -> bool:
        return self.status == "processing"


@dataclass(frozen=True)
class Outcome:
    """An answer to ``POST /orders``: the HTTP status and the JSON body (errors without ``request_id``)."""

    status: int
    body: dict[str, Any]

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


@dataclass
class OrderItem:
    product_id: int
    quantity: int
    name: str | None = None
    unit_price_cents: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "name": self.name,
            "quantity": self.quantity,
            "unit_price_cents": self.unit_price_cents,
        }


@dataclass
class Order:
    user_id: int
    items: list[OrderItem]
    status: str = PENDING
    id: int | None = None
    failure_reason: str | None = None
    total_cents: int | None = None
    currency: str | None = None
    payment_id: int | None = None
    idempotency_key: str | None = None
    request_fingerprint: str | None = field(default=None, repr=False)
    outcome: Outcome | None = field(default=None, repr=False)
    version: int = 0
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    @property
    def reservation_id(self) -> str:
        return f"order-{self.id}"

    @property
    def rejected(self) -> bool:
        """Refused as invalid input: never placed, so never shown to the customer."""
        return self.status == FAILED and self.failure_reason in REJECTED_REASONS

    def lines(self) -> list[Line]:
        return [Line(item.product_id, item.quantity) for item in self.items]

    def apply_reservation(self, reservation: Reservation) -> None:
        """Take names and prices from what products held; it must be exactly what was asked for."""
        held = {item.product_id: item for item in reservation.items}
        if sorted((i.product_id, i.quantity) for i in reservation.items) != sorted(
            (i.product_id, i.quantity) for i in self.items
        ):
            raise UpstreamFailure("products", "The reservation does not match the order.")
        for item in self.items:
            item.name = held[item.product_id].name
            item.unit_price_cents = held[item.product_id].unit_price_cents
        self.total_cents = sum(i.quantity * held[i.product_id].unit_price_cents for i in self.items)
        self.currency = reservation.currency
        self.status = RESERVED

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "status": self.status,
            "failure_reason": self.failure_reason,
            "items": [item.to_dict() for item in self.items],
            "total_cents": self.total_cents,
            "currency": self.currency,
            "payment_id": self.payment_id,
            "created_at": _timestamp(self.created_at),
            "updated_at": _timestamp(self.updated_at),
        }


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# Ports ------------------------------------------------------------------------------------------------------


class Inventory(abc.ABC):
    """Stock held for orders (the products service). Every call is idempotent per reservation id."""

    @abc.abstractmethod
    def reserve(self, reservation_id: str, lines: Sequence[Line]) -> Reservation:
        """Hold every line or none. Raises OutOfStock, UnknownProduct or UpstreamFailure."""

    @abc.abstractmethod
    def commit(self, reservation_id: str) -> None:
        """Make a held reservation permanent. Raises UpstreamFailure."""

    @abc.abstractmethod
    def release(self, reservation_id: str) -> None:
        """Give held stock back; nothing to do when nothing is held. Raises ReservationCommitted when the
        reservation was committed, UpstreamFailure otherwise."""

    @abc.abstractmethod
    def return_stock(self, reservation_id: str) -> None:
        """Give the stock of a committed reservation back; nothing to do when none is held. Raises
        UpstreamFailure."""


class Payments(abc.ABC):
    """Charges and refunds (the payments service). A charge is idempotent per order id."""

    @abc.abstractmethod
    def charge(self, order_id: int, amount_cents: int, currency: str, card: Card) -> Payment:
        """A completed payment. Raises PaymentDeclined (code card_declined / insufficient_funds), InvalidCard
        or UpstreamFailure."""

    @abc.abstractmethod
    def refund(self, payment_id: int) -> None:
        """Refund a completed payment (idempotent). Raises UpstreamFailure."""

    @abc.abstractmethod
    def find_for_order(self, order_id: int) -> Payment | None:
        """The payment made for ``order_id``, if any. Raises UpstreamFailure."""


class OrderRepository(abc.ABC):
    """Orders storage. Each method is its own transaction."""

    @abc.abstractmethod
    def add(self, order: Order) -> Order:
        """Insert a new order with its items; sets ``id`` and ``version``. Raises DuplicateIdempotencyKey."""

    @abc.abstractmethod
    def get(self, order_id: int) -> Order | None: ...

    @abc.abstractmethod
    def get_by_idempotency_key(self, user_id: int, key: str) -> Order | None: ...

    @abc.abstractmethod
    def save(self, order: Order) -> None:
        """Store the order's state and item details if ``order.version`` is still the stored one, then
        increment it. Raises StaleOrder otherwise."""

    @abc.abstractmethod
    def list_for_user(self, user_id: int, *, limit: int, offset: int) -> tuple[list[Order], int]:
        """The user's orders newest first, leaving out rejected ones, and how many there are in all."""

    @abc.abstractmethod
    def list_unfinished(self, updated_before: datetime, limit: int = 100) -> list[Order]:
        """Orders in an UNFINISHED state not updated since ``updated_before``, oldest first."""


class OrderMetrics:
    """Business metrics of the orders service; this base records nothing (``metrics.py`` has Prometheus)."""

    def outcome(self, outcome: str) -> None:
        """An order reached the answer ``outcome`` (one of OUTCOMES)."""

    def confirmed_value(self, total_cents: int, currency: str) -> None:
        """A confirmed order's total."""

    def cancelled(self) -> None:
        """A confirmed order was cancelled."""

    def compensated(self, step: str) -> None:
        """A compensation step (one of COMPENSATION_STEPS) was carried out."""


# Service ----------------------------------------------------------------------------------------------------


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


class OrderService:
    """The orders use cases: place (the saga), read, cancel, and recover interrupted orders.

    ``fingerprint_key`` keys the HMAC that fingerprints idempotent requests; ``clock`` returns the current
    UTC time; orders untouched for ``recovery_grace_seconds`` are considered interrupted.
    """

    def __init__(
        self,
        orders: OrderRepository,
        inventory: Inventory,
        payments: Payments,
        *,
        metrics: OrderMetrics | None = None,
        fingerprint_key: bytes = b"tienda-orders",
        clock: Callable[[], datetime] = utcnow,
        recovery_grace_seconds: float = 30.0,
    ) -> None:
        self.orders = orders
        self.inventory = inventory
        self.payments = payments
        self.metrics = metrics or OrderMetrics()
        self._fingerprint_key = fingerprint_key
        self._clock = clock
        self.recovery_grace_seconds = recovery_grace_seconds

    # Reading --------------------------------------------------------------------------------------------

    def get_order(self, user_id: int, order_id: int) -> Order:
        """The user's own order; anyone else's, or a rejected one, is not found."""
        order = self.orders.get(order_id) if 0 < order_id <= MAX_ID else None
        if order is None or order.user_id != user_id or order.rejected:
            raise OrderNotFound(f"There is no order {order_id}.")
        return order

    def list_orders(self, user_id: int, *, limit: int, offset: int) -> tuple[list[Order], int]:
        return self.orders.list_for_user(user_id, limit=limit, offset=offset)

    # Placing an order -----------------------------------------------------------------------------------

    def place_order(self, command: PlaceOrder) -> Outcome:
        """Run the saga for ``command`` (or replay the stored answer for its idempotency key).

        Returns the success answer (201 and the confirmed order); every failure raises a DomainError
        whose status and code are the answer (the order is then ``failed`` or ``compensating``).
        """
        validate_lines(command.lines)
        key = command.idempotency_key
        fingerprint = self._fingerprint(command) if key is not None else None
        now = self._clock()
        order = Order(
            user_id=command.user_id,
            items=[OrderItem(line.product_id, line.quantity) for line in command.lines],
            idempotency_key=key,
            request_fingerprint=fingerprint,
            created_at=now,
            updated_at=now,
        )
        if key is not None:
            existing = self.orders.get_by_idempotency_key(command.user_id, key)
            if existing is not None:
                return self._replay(existing, fingerprint)
            try:
                order = self.orders.add(order)
            except DuplicateIdempotencyKey:
                existing = self.orders.get_by_idempotency_key(command.user_id, key)
                if existing is None:  # the other request's insert was rolled back: it is still ours to try
                    raise IdempotencyKeyInProgress("A request with this Idempotency-Key is in progress.") from None
                return self._replay(existing, fingerprint)
        else:
            order = self.orders.add(order)
        log.info(
            "order created",
            extra={"event": "order.created", "order_id": order.id, "user_id": order.user_id, "items": len(order.items)},
        )
        return self._run_saga(order, command.card)

    def _fingerprint(self, command: PlaceOrder) -> str:
        canonical = json.dumps(
            {
                "items": [[line.product_id, line.quantity] for line in command.lines],
                "card": [command.card.number, command.card.expiry, command.card.cvc],
            },
            separators=(",", ":"),
        )
        return hmac.new(self._fingerprint_key, canonical.encode(), hashlib.sha256).hexdigest()

    def _replay(self, existing: Order, fingerprint: str | None) -> Outcome:
        if existing.request_fingerprint is None or not hmac.compare_digest(
            existing.request_fingerprint, fingerprint or ""
        ):
            raise IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
        if existing.outcome is None:
            raise IdempotencyKeyInProgress("A request with this Idempotency-Key is in progress.")
        log.info(
            "order replayed",
            extra={
                "event": "order.replayed",
                "order_id": existing.id,
                "user_id": existing.user_id,
                "status_code": existing.outcome.status,
            },
        )
        if existing.outcome.is_error:
            raise existing.outcome.as_error()
        return existing.outcome

    def _run_saga(self, order: Order, card: Card) -> Outcome:
        # 1. reserve the stock
        try:
            reservation = self.inventory.reserve(order.reservation_id, order.lines())
            order.apply_reservation(reservation)
        except OutOfStock as exc:
            self._fail(order, "out_of_stock", exc, "out_of_stock")
        except UnknownProduct as exc:
            self._fail(order, "unknown_product", exc, "failed")
        except UpstreamFailure as exc:
            self._fail(order, f"{exc.service}_unavailable", exc, "failed", release=exc.outcome_unknown)
        self._save(order)

        # 2. charge the card
        try:
            payment = self.payments.charge(order.id, order.total_cents, order.currency, card)
        except PaymentDeclined as exc:
            self._fail(order, exc.code, exc, "declined", release=True)
        except InvalidCard as exc:
            self._fail(order, "invalid_card", exc, "failed", release=True)
        except UpstreamFailure as exc:
            self._fail(order, f"{exc.service}_unavailable", exc, "failed", refund=exc.outcome_unknown, release=True)
        order.status = PAID
        order.payment_id = payment.id
        self._save(order)

        # 3. commit the reservation
        try:
            self.inventory.commit(order.reservation_id)
        except UpstreamFailure as exc:
            self._fail(order, f"{exc.service}_unavailable", exc, "failed", refund=True, release=True)
        self._confirm(order)
        return order.outcome

    def _fail(
        self,
        order: Order,
        reason: str,
        error: DomainError,
        outcome: str,
        *,
        refund: bool = False,
        release: bool = False,
    ) -> NoReturn:
        """End the saga: compensate (refund, then release), store the answer, raise ``error``."""
        order.failure_reason = reason
        order.outcome = Outcome.of_error(error)
        if refund or release:
            order.status = COMPENSATING
            self._save(order)
            steps = ([self._refund] if refund else []) + ([self._release] if release else [])
            done = [self._try_compensation(step, order) for step in steps]
            order.status = FAILED if all(done) else COMPENSATING
        else:
            order.status = FAILED
        self._save(order)
        self.metrics.outcome(outcome)
        log.info(
            "order failed",
            extra={
                "event": "order.failed",
                "order_id": order.id,
                "user_id": order.user_id,
                "reason": reason,
                "status": order.status,
                "status_code": error.status,
            },
        )
        raise error

    def _try_compensation(self, step: Callable[[Order], None], order: Order) -> bool:
        try:
            step(order)
        except DomainError as exc:
            log.warning(
                "compensation failed",
                extra={
                    "event": "saga.compensation_failed",
                    "order_id": order.id,
                    "user_id": order.user_id,
                    "step": step.__name__.lstrip("_"),
                    "error_code": exc.code,
                },
            )
            return False
        return True

    def _refund(self, order: Order) -> None:
        """Refund the order's payment; when the charge's outcome is unknown, ask payments first."""
        payment_id = order.payment_id
        if payment_id is None:
            payment = self.payments.find_for_order(order.id)
            if payment is not None and payment.processing:
                raise UpstreamFailure("payments", "The charge is still being processed.")
            if payment is None or not payment.completed:
                return
            payment_id = payment.id
        self.payments.refund(payment_id)
        self._compensated(order, "refund", payment_id=payment_id)

    def _release(self, order: Order) -> None:
        """Give the held stock back (or the committed stock, if the commit went through after all)."""
        try:
            self.inventory.release(order.reservation_id)
        except ReservationCommitted:
            self.inventory.return_stock(order.reservation_id)
        self._compensated(order, "release", reservation_id=order.reservation_id)

    def _compensated(self, order: Order, step: str, **ids: Any) -> None:
        self.metrics.compensated(step)
        log.info(
            "saga step compensated",
            extra={"event": "saga.compensated", "order_id": order.id, "user_id": order.user_id, "step": step, **ids},
        )

    def _save(self, order: Order, *, answer: int | None = None) -> None:
        """Persist the order's state (stamping ``updated_at``); ``answer`` stores it as the success answer."""
        order.updated_at = self._clock()
        if answer is not None:
            order.outcome = Outcome(answer, order.to_dict())
        self.orders.save(order)

    # Cancelling -----------------------------------------------------------------------------------------

    def cancel_order(self, user_id: int, order_id: int) -> Order:
        """Refund, then return the stock; a confirmed order becomes cancelled. Cancelling twice is fine.

        When payments or products fail the order stays confirmed (the error propagates, 503/504); both
        calls are idempotent, so cancelling again finishes the job.
        """
        order = self.get_order(user_id, order_id)
        if order.status == CANCELLED:
            return order
        if order.status != CONFIRMED:
            raise NotCancellable(f"Only a confirmed order can be cancelled; this one is {order.status}.")
        if order.payment_id is not None:
            self.payments.refund(order.payment_id)
        self.inventory.return_stock(order.reservation_id)
        order.status = CANCELLED
        try:
            self._save(order)
        except StaleOrder:
            current = self.orders.get(order.id)
            if current is not None and current.status == CANCELLED:
                return current  # a concurrent cancel finished first
            raise
        self.metrics.cancelled()
        log.info(
            "order cancelled",
            extra={
                "event": "order.cancelled",
                "order_id": order.id,
                "user_id": order.user_id,
                "payment_id": order.payment_id,
            },
        )
        return order

    # Recovery -------------------------------------------------------------------------------------------

    def recover_unfinished(self) -> list[Order]:
        """Finish every order left unfinished for longer than the grace period; returns those handled.

        For each: release the reservation (or, if it was committed, return the stock), refund a completed
        payment, and mark it ``failed`` (reason ``interrupted``, unless a failing saga already chose one).
        The exception: an order interrupted after it was ``paid`` whose reservation is already committed
        and whose payment completed has in fact succeeded, and is finished as ``confirmed``. An order whose
        compensation fails again stays ``compensating`` for the next sweep.
        """
        cutoff = self._clock() - timedelta(seconds=self.recovery_grace_seconds)
        handled = []
        for order in self.orders.list_unfinished(cutoff):
            try:
                self._save(order)  # claim it: another worker's sweep now gets StaleOrder
            except StaleOrder:
                continue
            self._recover(order)
            handled.append(order)
        return handled

    def _recover(self, order: Order) -> None:
        was_compensating = order.status == COMPENSATING
        try:
            committed = False
            try:
                self.inventory.release(order.reservation_id)
            except ReservationCommitted:
                committed = True
            payment = self.payments.find_for_order(order.id)
            if payment is not None and payment.processing:
                raise UpstreamFailure("payments", "The charge is still being processed.")
            charged = payment is not None and payment.completed
            if committed and charged and order.status == PAID:
                self._confirm_recovered(order, payment)
                return
            if committed:
                self.inventory.return_stock(order.reservation_id)
            self._compensated(order, "release", reservation_id=order.reservation_id)
            if charged:
                self.payments.refund(payment.id)
                self._compensated(order, "refund", payment_id=payment.id)
        except DomainError as exc:
            if not was_compensating:
                self._mark_interrupted(order)
            order.status = COMPENSATING
            self._save(order)
            log.warning(
                "recovery failed",
                extra={
                    "event": "saga.compensation_failed",
                    "order_id": order.id,
                    "user_id": order.user_id,
                    "step": "recovery",
                    "error_code": exc.code,
                },
            )
            return
        if not was_compensating:
            self._mark_interrupted(order)
        order.status = FAILED
        self._save(order)
        log.info(
            "order failed",
            extra={
                "event": "order.failed",
                "order_id": order.id,
                "user_id": order.user_id,
                "reason": order.failure_reason,
                "status": order.status,
                "recovered": True,
            },
        )

    def _mark_interrupted(self, order: Order) -> None:
        """Record the answer an interrupted order gets (its request never got one) and count it."""
        order.failure_reason = INTERRUPTED
        order.outcome = Outcome.of_error(
            UpstreamUnavailable("The order was interrupted and has been rolled back.", code="order_interrupted")
        )
        self.metrics.outcome("failed")

    def _confirm_recovered(self, order: Order, payment: Payment) -> None:
        order.payment_id = payment.id
        self._confirm(order, recovered=True)

    def _confirm(self, order: Order, *, recovered: bool = False) -> None:
        """The saga's last step, by the request or by recovery: confirmed, counted, logged."""
        order.status = CONFIRMED
        self._save(order, answer=201)
        self.metrics.outcome("confirmed")
        self.metrics.confirmed_value(order.total_cents or 0, order.currency or "EUR")
        extra = {
            "event": "order.confirmed",
            "order_id": order.id,
            "user_id": order.user_id,
            "total_cents": order.total_cents,
            "currency": order.currency,
            "payment_id": order.payment_id,
        }
        if recovered:
            extra["recovered"] = True
        log.info("order confirmed", extra=extra)
