"""What the orders domain needs from outside, as abstract classes: stock (the products service), charges (the
payments service), storage, and business metrics. ``clients.py``, ``store.py`` and ``metrics.py`` implement
them; tests use fakes that subclass the same ports.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.common.cards import Card

from .model import AuditedOrder, Line, Order, OrderOutcome, Outcome, Payment, Reservation


class Inventory(abc.ABC):
    """Stock held for orders (the products service). Every call is idempotent per reservation id."""

    @abc.abstractmethod
    def reserve(self, reservation_id: str, lines: Sequence[Line]) -> Reservation:
        """Hold every line or none. Raises InsufficientStock, UnknownProduct or UpstreamFailure."""

    @abc.abstractmethod
    def commit(self, reservation_id: str) -> None:
        """Make a held reservation permanent. Raises UpstreamFailure."""

    @abc.abstractmethod
    def release(self, reservation_id: str) -> bool:
        """Give held stock back. False when products holds nothing for this reservation (it never did, or gave
        it back already). Raises ReservationCommitted when the reservation was committed, UpstreamFailure
        otherwise."""

    @abc.abstractmethod
    def return_stock(self, reservation_id: str) -> bool:
        """Give the stock of a committed reservation back. False when there is none (never reserved, released,
        or returned already). Raises UpstreamFailure."""


class Payments(abc.ABC):
    """Charges and refunds (the payments service). A charge is idempotent per saga id."""

    @abc.abstractmethod
    def charge(self, saga_id: str, order_id: int, amount_cents: int, currency: str, card: Card) -> Payment:
        """A completed payment. Raises PaymentDeclined (code card_declined / insufficient_funds), InvalidCard
        or UpstreamFailure."""

    @abc.abstractmethod
    def void(self, saga_id: str) -> Payment:
        """Make sure the saga's charge does not stick (idempotent): refunded when it completed, refused for good
        when it has not arrived yet (a ``voided`` tombstone), refunded when it settles if still ``processing``
        (the payment is answered as it is now). Raises UpstreamFailure."""


class OrderRepository(abc.ABC):
    """Orders storage. Each method is its own transaction (see ``store.py`` for why)."""

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
    def audit_page(self, *, after: str | None, until: str | None, limit: int) -> list[AuditedOrder]:
        """Up to ``limit`` orders by saga id, as the audit reads them, those after ``after`` and up to ``until``
        (None: no bound): one page of the integrity audit's read (``services.common.contract.KeysetQuery``)."""

    @abc.abstractmethod
    def list_unfinished(self, updated_before: datetime, limit: int = 100) -> list[Order]:
        """Orders in an UNFINISHED state not updated since ``updated_before``, oldest first."""


class OrderEvents(abc.ABC):
    """Told what the use cases did: the port :class:`services.orders.metrics.OrderMetrics` implements."""

    @abc.abstractmethod
    def outcome(self, outcome: OrderOutcome) -> None:
        """An order got the answer ``outcome``."""

    @abc.abstractmethod
    def confirmed_value(self, total_cents: int, currency: str) -> None:
        """A confirmed order's total."""

    @abc.abstractmethod
    def cancelled(self) -> None:
        """A confirmed order was cancelled."""

    @abc.abstractmethod
    def compensated(self, step: str) -> None:
        """A compensation step (``refund`` or ``release``) gave something back."""


class NoEvents(OrderEvents):
    """:class:`OrderEvents` that records nothing."""

    def outcome(self, outcome: OrderOutcome) -> None:
        pass

    def confirmed_value(self, total_cents: int, currency: str) -> None:
        pass

    def cancelled(self) -> None:
        pass

    def compensated(self, step: str) -> None:
        pass


@dataclass(frozen=True)
class Ports:
    """Everything the use cases work through: the three ports, the events port and the clock (UTC)."""

    orders: OrderRepository
    inventory: Inventory
    payments: Payments
    events: OrderEvents
    clock: Callable[[], datetime]

    def save(self, order: Order) -> None:
        """Persist the order's state, stamping ``updated_at``."""
        order.updated_at = self.clock()
        self.orders.save(order)

    def save_answer(self, order: Order, status: int) -> Outcome:
        """Persist the order with its state stored as the answer ``status`` to its request; returns that."""
        order.updated_at = self.clock()
        outcome = order.outcome = Outcome(status, order.to_dict())
        self.orders.save(order)
        return outcome
