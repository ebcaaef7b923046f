"""Cancelling a confirmed order, a persisted state like every step of the saga::

    confirmed ──▶ cancelling ──refund, return the stock──▶ cancelled
                      │
                      └─ a step failed, or the process died: it stays cancelling, and the next cancel request
                         or the recovery sweep (``recovery.py``) finishes it

``cancelling`` is saved before anything is given back, so a cancel interrupted half way (refunded, but the stock
not returned) is never mistaken for a confirmed order. The refund and the return are the one compensation path's
(``compensation.py``): a void and a return by the saga's id, both idempotent, so finishing a cancel again, or in
two processes at once, gives nothing back twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .compensation import Compensation, Step
from .errors import StaleOrder
from .model import CANCELLED, CANCELLING, Order
from .ports import Ports

log = logging.getLogger("services.orders")


@dataclass(frozen=True)
class Cancellation:
    ports: Ports
    compensation: Compensation

    def begin(self, order: Order) -> Order:
        """Persist ``order`` (confirmed) as ``cancelling``; the order as stored when a concurrent cancel did first."""
        order.move_to(CANCELLING)
        try:
            self.ports.save(order)
        except StaleOrder:
            return self._current(order)
        log.info("order cancelling", extra=order.log_fields("order.cancelling"))
        return order

    def finish(self, order: Order, *, recovered: bool = False) -> Order:
        """Refund and return the stock of a ``cancelling`` order; it is ``cancelled`` when both are done and stays
        ``cancelling`` otherwise (the failed step is logged). Returns the order as it now is."""
        if not self.compensation.undo(order, (Step.REFUND, Step.RELEASE)).complete:
            return order
        order.move_to(CANCELLED)
        try:
            self.ports.save(order)
        except StaleOrder:
            return self._current(order)  # another cancel request, or a sweep, is finishing it or has
        self.ports.events.cancelled()
        extra = order.log_fields("order.cancelled", payment_id=order.payment_id)
        log.info("order cancelled", extra=extra | ({"recovered": True} if recovered else {}))
        return order

    def _current(self, order: Order) -> Order:
        """The stored order after a StaleOrder: someone else moved it on, to cancelling or cancelled."""
        current = self.ports.orders.get(order.number)
        if current is None or current.status not in (CANCELLING, CANCELLED):
            raise StaleOrder(f"Order {order.id} was changed by someone else.")
        return current
