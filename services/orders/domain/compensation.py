"""Giving back what a checkout took elsewhere, written once for the saga, cancelling and recovery.

Two things can be given back: the customer's money (:attr:`Step.REFUND`: void the saga's charge at payments,
which refunds it if it completed, refuses it for good if it has not arrived yet, and refunds it when it settles
if it is still at the provider) and the stock (:attr:`Step.RELEASE`: release what products holds or, once the
reservation is committed, return it). The void is the same call whether the charge's outcome is known or not,
so a charge that answers after orders gave up cannot stick. :meth:`Compensation.refund`
and :meth:`Compensation.give_back_stock` are those two acts; :meth:`Compensation.undo` runs them: best effort,
each step even when an earlier one failed, except after the release that is to tell whether a paid order was
placed after all (``keep_committed``). For a failing saga or recovery each step is counted in
``tienda_saga_compensations_total`` only when it gave something back (a release when products held nothing
is not a compensation); a ``cancelling`` order is not a failed saga, and its steps are not counted (the cancel
is, in ``tienda_order_cancellations_total``).

Every step runs without the caller's deadline (:func:`telemetry.deadline.detached`): what was taken must be
given back whether or not anyone still waits for the answer, and a step the caller's budget cut short would
leave the order for the sweep. Each call is still bounded by its own timeouts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from services.common.errors import DomainError
from telemetry import deadline

from .errors import PaymentInProgress, ReservationCommitted
from .model import CANCELLING, PAYMENT_REFUNDED, Order
from .ports import Ports

log = logging.getLogger("services.orders")


class Step(StrEnum):
    REFUND = "refund"
    RELEASE = "release"


#: ``tienda_saga_compensations_total`` steps.
COMPENSATION_STEPS: Final[tuple[str, ...]] = tuple(Step)


@dataclass(frozen=True)
class Undone:
    """What :meth:`Compensation.undo` achieved."""

    #: Every step was carried out: nothing is left to give back.
    complete: bool
    #: The reservation turned out committed and was kept (``keep_committed``): the checkout went through.
    committed: bool = False
    #: The release failed with ``keep_committed``: whether the checkout went through is not known, and nothing
    #: after it was tried.
    undecided: bool = False


@dataclass(frozen=True)
class Compensation:
    ports: Ports

    def undo(self, order: Order, steps: Sequence[Step], *, keep_committed: bool = False) -> Undone:
        """Carry out ``steps`` in that order as compensations of ``order``'s checkout.

        A failed step is logged (``saga.compensation_failed``) and the next one still runs, so a failed refund
        does not keep the stock held. With ``keep_committed`` a committed reservation is not returned: the
        order's commit went through, nothing is undone and the remaining steps are skipped. So with
        ``keep_committed`` the release decides: when it fails, the steps after it are not tried either, since
        the charge they would refund may belong to an order that was placed after all.
        """
        complete = True
        for step in steps:
            try:
                with deadline.detached():
                    if step is Step.REFUND:
                        payment_id = self.refund(order)
                        if payment_id is not None:
                            self._compensated(order, step, payment_id=payment_id)
                    else:
                        released = self.give_back_stock(order, keep_committed=keep_committed)
                        if released is None:
                            return Undone(complete=complete, committed=True)
                        if released:
                            self._compensated(order, step, reservation_id=order.reservation_id)
            except DomainError as exc:
                complete = False
                log.warning(
                    "compensation failed",
                    extra=order.log_fields(
                        "saga.compensation_failed", step=step.value, error_code=exc.code, status=order.status
                    ),
                )
                if keep_committed and step is Step.RELEASE:
                    return Undone(complete=False, undecided=True)
        return Undone(complete=complete)

    def refund(self, order: Order) -> int | None:
        """Void the saga's charge; the refunded payment's id, or None when nothing was charged (declined, or a
        tombstone now refuses the charge).

        A charge still at the provider is PaymentInProgress: payments refunds it when it settles, and the next
        try learns that it did.
        """
        payment = self.ports.payments.void(order.saga_id)
        if payment.processing:
            raise PaymentInProgress("The charge is still being processed; it will be refunded when it settles.")
        return payment.id if payment.status == PAYMENT_REFUNDED else None

    def give_back_stock(self, order: Order, *, keep_committed: bool = False) -> bool | None:
        """Give the order's stock back: True when some went back, False when products held none.

        A cancelling order's reservation is committed, so its stock is returned. Otherwise the held stock is
        released; a reservation that turns out committed is returned too, or with ``keep_committed`` kept as it
        is (the answer is then None).
        """
        inventory = self.ports.inventory
        if order.status == CANCELLING:
            return inventory.return_stock(order.reservation_id)
        try:
            return inventory.release(order.reservation_id)
        except ReservationCommitted:
            return None if keep_committed else inventory.return_stock(order.reservation_id)

    def _compensated(self, order: Order, step: Step, **ids: object) -> None:
        if order.status == CANCELLING:  # a cancel's refund and return, not a failed saga's
            return
        self.ports.events.compensated(step.value)
        log.info(
            "saga step compensated",
            extra=order.log_fields("saga.compensated", step=step.value, **ids),
        )
