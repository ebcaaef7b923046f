"""What the orders use cases raise. DomainErrors carry the HTTP answer (``services.common.errors`` maps them);
the others are signals between the domain and its ports, or a defect. The errors orders shares with products
are the classes of products' contract (:mod:`services.products.contract`), imported from there:
``InsufficientStock`` and ``UnknownProduct``, which it passes on from products' answers, and ``DuplicateProduct``,
which it checks itself before asking."""

from __future__ import annotations

from typing import Any

from services.common.contract import REPLAYED
from services.common.errors import Conflict, DomainError, InvalidInput, NotFound
from services.products.contract import RESERVATION_COMMITTED


class OrderNotFound(NotFound):
    code = "order_not_found"


class NotCancellable(Conflict):
    code = "not_cancellable"


class DeadlinePassed(DomainError):
    """The caller's deadline (``X-Request-Budget-Ms``) left no time to confirm: the order was not placed."""

    status, code = 504, "deadline_exceeded"


class ReservationCommitted(Conflict):
    """A release was asked for a reservation that is already committed."""

    code = RESERVATION_COMMITTED


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"


class IdempotencyKeyInProgress(Conflict):
    code = "idempotency_key_in_progress"


class StaleOrder(Conflict):
    """The order changed since it was read (another worker's recovery sweep took it over)."""

    code = "order_modified"


class PaymentInProgress(Conflict):
    """Payments has the order's charge but has not settled it yet: whether to refund it is known later."""

    code = "payment_in_progress"


class OrderInterrupted(DomainError):
    """The answer an order gets when a crash interrupted its checkout and recovery rolled it back."""

    status, code = 503, "order_interrupted"


class ReplayedError(DomainError):
    """The stored error answer of an earlier request with the same idempotency key."""

    headers = REPLAYED

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message, code=code, details=details)
        self.status = status


class DuplicateIdempotencyKey(Exception):
    """Raised by ``OrderRepository.add``: this user already has an order with this key."""


class IllegalTransition(Exception):
    """A status change the order's state machine does not have: a defect, never a customer's doing."""
