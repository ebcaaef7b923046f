"""Finishing orders a checkout left unfinished: a crashed process (``pending``, ``reserved``, ``paid``) or a
compensation that failed (``compensating``).

Recovery does not know which steps of the saga took effect, so it asks: it gives the stock back first, because
products' answer to the release tells whether a ``paid`` order's commit went through (then that order in fact
succeeded and is confirmed), then refunds whatever payments says was charged. Both are the saga's own
compensations (``compensation.py``), counted only when they gave something back. The order ends ``failed``
(reason ``interrupted``, unless a failing saga already chose one and answered the customer), or stays
``compensating`` for the next sweep when a step fails again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from .checkout import Checkout
from .compensation import Compensation, Step
from .errors import OrderInterrupted, StaleOrder
from .model import COMPENSATING, FAILED, INTERRUPTED, PAID, Order, Outcome
from .ports import Ports

log = logging.getLogger("services.orders")


class Recovery:
    """``sweep()`` finishes every order unfinished for longer than ``grace_seconds``."""

    def __init__(self, ports: Ports, compensation: Compensation, checkout: Checkout, grace_seconds: float) -> None:
        self.ports = ports
        self.compensation = compensation
        self.checkout = checkout
        self.grace_seconds = grace_seconds

    def sweep(self) -> list[Order]:
        """Recover each order untouched for the grace period; returns those handled. Each is claimed first by
        saving it: a sweep in another worker then gets StaleOrder and leaves it alone."""
        cutoff = self.ports.clock() - timedelta(seconds=self.grace_seconds)
        handled = []
        for order in self.ports.orders.list_unfinished(cutoff):
            try:
                self.ports.save(order)
            except StaleOrder:
                continue
            self.recover(order)
            handled.append(order)
        return handled

    def recover(self, order: Order) -> None:
        """Confirm ``order`` if its checkout went through after all, otherwise give back what it took."""
        answered = order.status == COMPENSATING  # a failing saga answered the customer already
        undone = self.compensation.undo(order, (Step.RELEASE, Step.REFUND), keep_committed=order.status == PAID)
        if undone.committed:  # paid means the charge completed; the commit did too
            self.checkout.confirm(order, recovered=True)
            return
        if not answered:
            order.failure_reason = INTERRUPTED
            order.outcome = Outcome.of_error(OrderInterrupted("The order was interrupted and has been rolled back."))
            self.ports.metrics.outcome("failed")
        order.move_to(FAILED if undone.complete else COMPENSATING)
        self.ports.save(order)
        if undone.complete:
            fields = order.log_fields("order.failed", reason=order.failure_reason, status=order.status, recovered=True)
            log.info("order failed", extra=fields)
