"""The checkout saga behind ``POST /orders``, every transition persisted before the next remote call::

    pending ──reserve──▶ reserved ──charge──▶ paid ──commit──▶ confirmed
       │                    │                   │
       └─ out of stock,     └─ declined,        └─ products failed:
          unknown product,     bad card,           void, release ──▶ failed
          products failed:     payments failed:
          (release) ──▶ failed (void?), release ──▶ failed

Each step either moves the order on or answers a :class:`CheckoutFailure`: why, what to answer, and which completed
steps to compensate, in reverse order (refund, then release). The saga then ends ``failed`` with that
``failure_reason``; when a compensation itself fails, the order is left ``compensating`` for the recovery
sweep (``recovery.py``) to finish.

The caller's deadline (``X-Request-Budget-Ms``, :mod:`telemetry.deadline`) caps every call, and an order is
never confirmed once its caller may have given up: before the commit, and again before confirming, less than
``confirm_margin_seconds`` left fails the order (``deadline_exceeded``, 504) and gives back what it took. So
a 5xx that reaches the customer means the order will not confirm. A checkout with an ``Idempotency-Key`` runs
without the caller's deadline instead (``service.py``): the customer finds out what became of it by sending the
request again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from services.common.cards import INVALID_CARD, Card, InvalidCard
from services.common.errors import DomainError, PaymentDeclined, UpstreamFailure
from services.products.contract import UNKNOWN_PRODUCT, InsufficientStock, UnknownProduct
from telemetry import deadline

from ..contract import CONFIRM_MARGIN_SECONDS
from .compensation import Compensation, Step
from .errors import DeadlinePassed
from .model import COMPENSATING, CONFIRMED, FAILED, PAID, Order, OrderOutcome, Outcome
from .ports import Ports

log = logging.getLogger("services.orders")


@dataclass(frozen=True)
class CheckoutFailure:
    """How a checkout ended without an order: the ``failure_reason``, the error answered, the
    ``tienda_orders_total`` outcome, and the compensations owed (in the order they run)."""

    reason: str
    error: DomainError
    outcome: OrderOutcome
    undo: tuple[Step, ...] = ()


def _upstream(exc: UpstreamFailure, *undo: Step) -> CheckoutFailure:
    return CheckoutFailure(f"{exc.upstream}_unavailable", exc, "failed", undo)


@dataclass(frozen=True)
class Checkout:
    ports: Ports
    compensation: Compensation
    confirm_margin_seconds: float = CONFIRM_MARGIN_SECONDS

    def run(self, order: Order, card: Card) -> Outcome:
        """Reserve, charge, commit. Returns the success answer (201 and the confirmed order); a failure is
        raised as the DomainError that is its answer, after the order was failed and compensated."""
        failure = (
            self._reserve(order)
            or self._charge(order, card)
            or self._in_time("commit")
            or self._commit(order)
            or self._in_time("confirm")
        )
        if failure is not None:
            self._fail(order, failure)
            raise failure.error
        return self.confirm(order)

    def _reserve(self, order: Order) -> CheckoutFailure | None:
        try:
            order.apply_reservation(self.ports.inventory.reserve(order.reservation_id, order.lines()))
        except InsufficientStock as exc:
            return CheckoutFailure("out_of_stock", exc, "out_of_stock")
        except UnknownProduct as exc:
            return CheckoutFailure(UNKNOWN_PRODUCT, exc, "failed")
        except UpstreamFailure as exc:
            # A timeout may have held stock after all; a refused connection certainly did not.
            return _upstream(exc, *([Step.RELEASE] if exc.outcome_unknown else []))
        self.ports.save(order)
        return None

    def _charge(self, order: Order, card: Card) -> CheckoutFailure | None:
        amount_cents, currency = order.price()
        try:
            payment = self.ports.payments.charge(order.saga_id, order.number, amount_cents, currency, card)
        except PaymentDeclined as exc:
            return CheckoutFailure(exc.code, exc, "declined", (Step.RELEASE,))
        except InvalidCard as exc:
            return CheckoutFailure(INVALID_CARD, exc, "failed", (Step.RELEASE,))
        except UpstreamFailure as exc:
            # A charge that timed out may have gone through, or may yet: the void makes sure it does not stick.
            return _upstream(exc, *([Step.REFUND] if exc.outcome_unknown else []), Step.RELEASE)
        order.move_to(PAID)
        order.payment_id = payment.id
        self.ports.save(order)
        return None

    def _commit(self, order: Order) -> CheckoutFailure | None:
        try:
            self.ports.inventory.commit(order.reservation_id)
        except UpstreamFailure as exc:
            return _upstream(exc, Step.REFUND, Step.RELEASE)
        return None

    def _in_time(self, step: str) -> CheckoutFailure | None:
        """A failure when the caller's deadline leaves less than the margin before ``step``."""
        remaining = deadline.remaining_seconds()
        if remaining is None or remaining >= self.confirm_margin_seconds:
            return None
        error = DeadlinePassed(f"The request's deadline left no time to {step} the order; it was not placed.")
        return CheckoutFailure("deadline_exceeded", error, "failed", (Step.REFUND, Step.RELEASE))

    def _fail(self, order: Order, failure: CheckoutFailure) -> None:
        """End the saga without an order: compensate, store the answer, count and log it."""
        order.failure_reason = failure.reason
        order.outcome = Outcome.of_error(failure.error)
        if failure.undo:
            order.move_to(COMPENSATING)
            self.ports.save(order)
            undone = self.compensation.undo(order, failure.undo)
            order.move_to(FAILED if undone.complete else COMPENSATING)
        else:
            order.move_to(FAILED)
        self.ports.save(order)
        self.ports.events.outcome(failure.outcome)
        log.info(
            "order failed",
            extra=order.log_fields(
                "order.failed", reason=failure.reason, status=order.status, status_code=failure.error.status
            ),
        )

    def confirm(self, order: Order, *, recovered: bool = False) -> Outcome:
        """The saga's last step, by the request or by recovery: confirmed, its answer stored, counted, logged."""
        order.move_to(CONFIRMED)
        outcome = self.ports.save_answer(order, 201)
        total_cents, currency = order.price()
        self.ports.events.outcome("confirmed")
        self.ports.events.confirmed_value(total_cents, currency)
        extra = order.log_fields(
            "order.confirmed", total_cents=total_cents, currency=currency, payment_id=order.payment_id
        )
        log.info("order confirmed", extra=extra | ({"recovered": True} if recovered else {}))
        return outcome
