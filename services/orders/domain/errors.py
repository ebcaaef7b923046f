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


class OrderNotFound(NotFound, code="order_not_found"):
    """No order has this id that the caller may see: none at all, another customer's, or one that was rejected."""


class NotCancellable(Conflict, code="not_cancellable"):
    """Only a confirmed order can be cancelled (a cancelling or cancelled one answers as it is): this one is still
    being placed, or it failed."""


class DeadlinePassed(DomainError, status=504, code="deadline_exceeded"):
    """The caller's deadline (``X-Request-Budget-Ms``) left no time to confirm: the order was not placed."""


class ReservationCommitted(Conflict, code=RESERVATION_COMMITTED):
    """A release was asked for a reservation that is already committed."""


class IdempotencyKeyReused(InvalidInput, code="idempotency_key_reused"):
    """The ``Idempotency-Key`` was used before with a different request body."""


class IdempotencyKeyInProgress(Conflict, code="idempotency_key_in_progress"):
    """A request with the same ``Idempotency-Key`` has not finished yet."""


class StaleOrder(Conflict, code="order_modified"):
    """The order changed since it was read (another worker's recovery sweep took it over)."""


class PaymentInProgress(Conflict, code="payment_in_progress"):
    """Payments has the order's charge but has not settled it yet: whether to refund it is known later."""


class OrderInterrupted(DomainError, status=503, code="order_interrupted"):
    """The answer an order gets when a crash interrupted its checkout and recovery rolled it back."""


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
