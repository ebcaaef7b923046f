"""``OrderService``: the orders use cases in one object, for ``api.py`` and the recovery loop."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from services.common.contract import MAX_ID
from telemetry import deadline

from ..contract import CONFIRM_MARGIN_SECONDS, RECOVERY_GRACE_SECONDS
from .cancel import Cancellation
from .checkout import Checkout
from .compensation import Compensation
from .errors import NotCancellable, OrderNotFound
from .idempotency import add_once, fingerprint
from .model import (
    CANCELLED,
    CANCELLING,
    CONFIRMED,
    AuditedOrder,
    Order,
    OrderItem,
    Outcome,
    PlaceOrder,
    utcnow,
    validate_lines,
)
from .ports import Inventory, NoEvents, OrderEvents, OrderRepository, Payments, Ports
from .recovery import Recovery

log = logging.getLogger("services.orders")


class OrderService:
    """Place an order (the saga), read and cancel one's own orders, recover interrupted ones.

    ``fingerprint_key`` keys the HMAC that fingerprints idempotent requests; ``clock`` returns the current
    UTC time; orders untouched for ``recovery_grace_seconds`` are considered interrupted; a checkout confirms
    only with ``confirm_margin_seconds`` of its caller's deadline left (``checkout.py``).
    """

    def __init__(
        self,
        orders: OrderRepository,
        inventory: Inventory,
        payments: Payments,
        *,
        events: OrderEvents | None = None,
        fingerprint_key: bytes = b"tienda-orders",
        clock: Callable[[], datetime] = utcnow,
        recovery_grace_seconds: float = RECOVERY_GRACE_SECONDS,
        confirm_margin_seconds: float = CONFIRM_MARGIN_SECONDS,
    ) -> None:
        self.ports = Ports(orders, inventory, payments, events or NoEvents(), clock)
        self.compensation = Compensation(self.ports)
        self.checkout = Checkout(self.ports, self.compensation, confirm_margin_seconds)
        self.cancellation = Cancellation(self.ports, self.compensation)
        self.recovery = Recovery(
            self.ports, self.compensation, self.checkout, self.cancellation, recovery_grace_seconds
        )
        self._fingerprint_key = fingerprint_key

    def get_order(self, user_id: int, order_id: int) -> Order:
        """The user's own order; anyone else's, or a rejected one, is not found."""
        order = self.ports.orders.get(order_id) if 0 < order_id <= MAX_ID else None
        if order is None or order.user_id != user_id or order.rejected:
            raise OrderNotFound(f"There is no order {order_id}.")
        return order

    def list_orders(self, user_id: int, *, limit: int, offset: int) -> tuple[list[Order], int]:
        return self.ports.orders.list_for_user(user_id, limit=limit, offset=offset)

    def place_order(self, command: PlaceOrder) -> Outcome:
        """Run the saga for ``command``, or replay the stored answer for its idempotency key.

        Returns the success answer (201 and the confirmed order); every failure raises a DomainError whose
        status and code are the answer (the order is then ``failed`` or ``compensating``).

        Without a key the saga keeps to the caller's deadline and fails rather than confirm after it. With a key
        it runs without it, each call within its own timeouts: a caller that gave up learns what the order
        became by sending the request again, so a checkout that would have confirmed is not thrown away.
        """
        validate_lines(command.lines)
        now = self.ports.clock()
        key = command.idempotency_key
        added = add_once(
            self.ports.orders,
            Order(
                user_id=command.user_id,
                items=[OrderItem(line.product_id, line.quantity) for line in command.lines],
                idempotency_key=key,
                request_fingerprint=None if key is None else fingerprint(self._fingerprint_key, command),
                created_at=now,
                updated_at=now,
            ),
        )
        if isinstance(added, Outcome):
            return added
        log.info(
            "order created",
            extra=added.log_fields("order.created", items=len(added.items)),
        )
        with deadline.detached() if key is not None else contextlib.nullcontext():
            return self.checkout.run(added, command.card)

    def cancel_order(self, user_id: int, order_id: int) -> Order:
        """Cancel the user's confirmed order: ``cancelling`` is persisted, then the charge is refunded and the
        stock returned, then it is ``cancelled`` (see ``cancel.py``). Returns the order as it then is.

        When payments or products fail the order stays ``cancelling``: the cancel has been accepted and is
        finished by the recovery sweep, or sooner by cancelling again. Cancelling a cancelled order answers it.
        """
        order = self.get_order(user_id, order_id)
        if order.status == CANCELLED:
            return order
        if order.status == CONFIRMED:
            order = self.cancellation.begin(order)
        elif order.status != CANCELLING:
            raise NotCancellable(f"Only a confirmed order can be cancelled; this one is {order.status}.")
        return order if order.status == CANCELLED else self.cancellation.finish(order)

    def audit_orders(self, *, after: str | None, until: str | None, limit: int) -> list[AuditedOrder]:
        """One page of orders by saga id, for the integrity audit."""
        return self.ports.orders.audit_page(after=after, until=until, limit=limit)

    def recover_unfinished(self) -> list[Order]:
        """Finish every order left unfinished for longer than the grace period (see ``recovery.py``)."""
        return self.recovery.sweep()
