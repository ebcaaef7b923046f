"""What the orders use cases raise. DomainErrors carry the HTTP answer (``services.common.errors`` maps them);
the others are signals between the domain and its ports, or a defect."""

from __future__ import annotations

from typing import Any

from services.common.contract import REPLAYED
from services.common.errors import Conflict, DomainError, InvalidInput, NotFound
from services.products.contract import DUPLICATE_PRODUCT, INSUFFICIENT_STOCK, RESERVATION_COMMITTED, UNKNOWN_PRODUCT


class OrderNotFound(NotFound):
    code = "order_not_found"


class NotCancellable(Conflict):
    code = "not_cancellable"


class DeadlinePassed(DomainError):
    """The caller's deadline (``X-Request-Budget-Ms``) left no time to confirm: the order was not placed."""

    status, code = 504, "deadline_exceeded"


class DuplicateProduct(InvalidInput):
    code = DUPLICATE_PRODUCT


class InsufficientStock(Conflict):
    """Products could not hold every item; ``details`` is ``[{product_id, requested, available}]``."""

    code = INSUFFICIENT_STOCK


class UnknownProduct(InvalidInput):
    code = UNKNOWN_PRODUCT


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
