"""Orders business rules: plain Python, no Flask, no SQL, no HTTP.

``api.py`` parses requests and calls :class:`OrderService`; ``store.py`` implements :class:`OrderRepository`;
``clients.py`` implements :class:`Inventory` (the products service) and :class:`Payments` (the payments
service). One module per concern:

``model.py``          the order, its statuses and the transitions between them, and the values around it
``errors.py``         what the use cases raise
``ports.py``          the ports (abstract classes), the business events port among them
``checkout.py``       the saga behind ``POST /orders``: reserve, charge, commit
``cancel.py``         ``POST /orders/{id}/cancel``: a confirmed order's refund and restock, finished or left
                      ``cancelling`` for the sweep
``compensation.py``   the one way back: refund, release or return the stock (saga, cancel and recovery)
``recovery.py``       the sweep that finishes orders a crash or a failed compensation left unfinished
``idempotency.py``    ``Idempotency-Key``: the request fingerprint and the replay of a stored answer
``service.py``        :class:`OrderService`, the use cases in one object
"""

from services.common.reservations import ReservedItem
from services.products.contract import DuplicateProduct, InsufficientStock, UnknownProduct

from ..contract import UNFINISHED
from .checkout import Checkout, CheckoutFailure
from .compensation import COMPENSATION_STEPS, Compensation, Step, Undone
from .errors import (
    DuplicateIdempotencyKey,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    IllegalTransition,
    NotCancellable,
    OrderInterrupted,
    OrderNotFound,
    PaymentInProgress,
    ReplayedError,
    ReservationCommitted,
    StaleOrder,
)
from .model import (
    CANCELLED,
    CANCELLING,
    COMPENSATING,
    CONFIRMED,
    FAILED,
    INTERRUPTED,
    OUTCOMES,
    PAID,
    PENDING,
    REJECTED_REASONS,
    RESERVED,
    TRANSITIONS,
    AuditedOrder,
    Line,
    Order,
    OrderItem,
    OrderOutcome,
    Outcome,
    Payment,
    PlaceOrder,
    Reservation,
    validate_lines,
)
from .ports import Inventory, NoEvents, OrderEvents, OrderRepository, Payments, Ports
from .recovery import Recovery
from .service import OrderService

__all__ = [
    "CANCELLED",
    "CANCELLING",
    "COMPENSATING",
    "COMPENSATION_STEPS",
    "CONFIRMED",
    "FAILED",
    "INTERRUPTED",
    "OUTCOMES",
    "PAID",
    "PENDING",
    "REJECTED_REASONS",
    "RESERVED",
    "TRANSITIONS",
    "UNFINISHED",
    "Checkout",
    "Compensation",
    "DuplicateIdempotencyKey",
    "DuplicateProduct",
    "CheckoutFailure",
    "IdempotencyKeyInProgress",
    "IdempotencyKeyReused",
    "IllegalTransition",
    "PaymentInProgress",
    "Inventory",
    "AuditedOrder",
    "Line",
    "NoEvents",
    "OrderEvents",
    "NotCancellable",
    "Order",
    "OrderItem",
    "OrderInterrupted",
    "OrderNotFound",
    "OrderOutcome",
    "OrderRepository",
    "OrderService",
    "Outcome",
    "InsufficientStock",
    "Payment",
    "Payments",
    "PlaceOrder",
    "Ports",
    "Recovery",
    "ReplayedError",
    "Reservation",
    "ReservationCommitted",
    "ReservedItem",
    "StaleOrder",
    "Step",
    "UnknownProduct",
    "Undone",
    "validate_lines",
]
