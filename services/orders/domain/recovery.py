"""Finishing orders a checkout or a cancel left unfinished: a crashed process (``pending``, ``reserved``,
``paid``, ``cancelling``) or a compensation that failed (``compensating``, ``cancelling``).

A checkout's recovery does not know which steps of the saga took effect, so it asks: it gives the stock back
first, because products' answer to the release tells whether a ``paid`` order's commit went through (then that
order in fact succeeded and is confirmed), then refunds whatever payments says was charged. A ``paid`` order
whose release fails is left ``paid`` and not refunded: its commit may have gone through, and the next sweep
asks again (refunding it first, a later sweep would confirm an order whose money was given back). Both are the saga's
own compensations (``compensation.py``), counted only when they gave something back. The order ends ``failed``
(reason ``interrupted``, unless a failing saga already chose one and answered the customer), or stays
``compensating`` for the next sweep when a step fails again. A ``cancelling`` order is finished as its cancel
would have been (``cancel.py``): refunded, its stock returned, ``cancelled``.

The bound: an order is taken by the first sweep that starts ``grace_seconds`` after it was last saved. A sweep
takes every such order, in batches, oldest first; one whose recovery fails (a step that fails again saves it,
anything else is logged) is left for a later sweep and never stops the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from .cancel import Cancellation
from .checkout import Checkout
from .compensation import Compensation, Step
from .errors import OrderInterrupted, StaleOrder
from .model import CANCELLING, COMPENSATING, FAILED, INTERRUPTED, PAID, Order, Outcome
from .ports import Ports

log = logging.getLogger("services.orders")

#: Orders read per query of a sweep; a sweep reads until none is left.
BATCH: Final = 100


@dataclass(frozen=True)
class Recovery:
    """``sweep()`` finishes every order unfinished for longer than ``grace_seconds``."""

    ports: Ports
    compensation: Compensation
    checkout: Checkout
    cancellation: Cancellation
    grace_seconds: float

    def sweep(self) -> list[Order]:
        """Recover each order untouched for the grace period; returns those handled. Each is claimed first by
        saving it: a sweep in another worker then gets StaleOrder and leaves it alone, and the claim moves it out
        of this sweep's next batch."""
        cutoff = self.ports.clock() - timedelta(seconds=self.grace_seconds)
        handled = []
        while True:
            batch = self.ports.orders.list_unfinished(cutoff, BATCH)
            for order in batch:
                try:
                    self.ports.save(order)
                except StaleOrder:
                    continue
                try:
                    self.recover(order)
                except Exception:  # one order's defect or outage must not keep the others unfinished
                    log.exception("order recovery failed", extra=order.log_fields("saga.recovery_failed"))
                handled.append(order)
            if len(batch) < BATCH:
                return handled

    def recover(self, order: Order) -> None:
        """Finish a cancel; confirm ``order`` if its checkout went through after all, or give back what it took."""
        if order.status == CANCELLING:
            self.cancellation.finish(order, recovered=True)
            return
        answered = order.status == COMPENSATING  # a failing saga answered the customer already
        undone = self.compensation.undo(order, (Step.RELEASE, Step.REFUND), keep_committed=order.status == PAID)
        if undone.committed:  # paid means the charge completed; the commit did too
            self.checkout.confirm(order, recovered=True)
            return
        if undone.undecided:  # products did not say whether the commit went through: the next sweep asks again
            return
        if not answered:
            order.failure_reason = INTERRUPTED
            order.outcome = Outcome.of_error(OrderInterrupted("The order was interrupted and has been rolled back."))
            self.ports.events.outcome("failed")
        order.move_to(FAILED if undone.complete else COMPENSATING)
        self.ports.save(order)
        if undone.complete:
            fields = order.log_fields("order.failed", reason=order.failure_reason, status=order.status, recovered=True)
            log.info("order failed", extra=fields)
