"""The orders service's HTTP contract: request and response models and their limits, written once.

``api.py`` validates with these models and documents its routes from them; the gateway's public API and the
typed clients of callers import them too, so a bound changed here changes everywhere at once.

Routes (the caller is the user of the internal token the gateway sends: :mod:`services.common.access`):

``POST /orders``               :class:`OrderCreate` → 201 :class:`OrderOut`; optional ``Idempotency-Key`` header
``GET /orders``                :class:`~services.common.contract.PageQuery` → :class:`OrderPage`, newest first
``GET /orders/{id}``           → :class:`OrderOut`
``POST /orders/{id}/cancel``   → 200 :class:`OrderOut` (cancelled: refunded, stock returned), or 202 with the
                               order ``cancelling`` when a step failed (the recovery sweep finishes it)
``GET /audit/orders``          :class:`AuditOrdersQuery` → :class:`AuditOrders`, a keyset page by saga id, for
                               the integrity audit only
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import BaseModel, Field

from services.common.cards import CVC_PATTERN, EXPIRY_PATTERN, NUMBER_PATTERN
from services.common.contract import AuditKey, Id, KeysetPage, KeysetQuery
from services.common.validation import Strict
from services.products.contract import MAX_ITEMS, MAX_QUANTITY, Quantity
from telemetry.http import DEFAULT_CONNECT_TIMEOUT_SECONDS, DEFAULT_READ_TIMEOUT_SECONDS

# An order is placed as one reservation at products: its limits are the reservation's.
__all__ = [
    "CHECKOUT_HOPS",
    "CONFIRM_MARGIN_SECONDS",
    "HOP_CONNECT_TIMEOUT_SECONDS",
    "HOP_READ_TIMEOUT_SECONDS",
    "CALLS_BETWEEN_SAVES",
    "RECOVERY_GRACE_SECONDS",
    "MAX_ITEMS",
    "MAX_QUANTITY",
    "STATUSES",
    "UNFINISHED",
    "OrderCreate",
    "OrderItemIn",
    "OrderItemOut",
    "OrderOut",
    "OrderPage",
    "OrderStatus",
    "PaymentCard",
    "checkout_worst_case_seconds",
    "longest_unsaved_seconds",
]

#: Every state an order can be in (the transitions between them are in ``domain/model.py``).
OrderStatus = Literal["pending", "reserved", "paid", "confirmed", "failed", "cancelled", "compensating", "cancelling"]
STATUSES: Final[tuple[OrderStatus, ...]] = get_args(OrderStatus)
#: The states a checkout or a cancel is still working through; an order in any other state is finished. The
#: recovery sweep finishes an order left in one of these, and the integrity audit judges by them.
UNFINISHED: Final[tuple[OrderStatus, ...]] = ("pending", "reserved", "paid", "compensating", "cancelling")

_SECRET = {"writeOnly": True}

# How long POST /orders may take ------------------------------------------------------------------------------

#: Each call of the saga to products or payments waits at most this long to connect, then for its answer: as
#: long as any call between two tienda services (``telemetry.http``'s defaults).
HOP_CONNECT_TIMEOUT_SECONDS: Final = DEFAULT_CONNECT_TIMEOUT_SECONDS
HOP_READ_TIMEOUT_SECONDS: Final = DEFAULT_READ_TIMEOUT_SECONDS
#: The calls ``POST /orders`` waits for one after the other before it can confirm: reserve, charge, commit.
CHECKOUT_HOPS: Final = 3
#: Orders confirms only with at least this much of its caller's budget left (``X-Request-Budget-Ms``): time to
#: store the confirmed order and for the answer to reach the caller before the caller gives up.
CONFIRM_MARGIN_SECONDS: Final = 0.5
#: Orders' own work between the calls (its database writes), allowed for in the worst case.
_LOCAL_WORK_SECONDS: Final = 1.5
#: The most calls a live checkout or cancel makes between two saves of the order: a failed commit's void, release
#: and return. The recovery sweep must wait longer than those take (its grace period) not to take such an order.
CALLS_BETWEEN_SAVES: Final = 3
#: How long an order stays untouched in an unfinished state before the sweep takes it as interrupted: longer
#: than :func:`longest_unsaved_seconds` of the default timeouts (18 s).
RECOVERY_GRACE_SECONDS: Final = 30.0


def checkout_worst_case_seconds(
    connect_timeout_seconds: float = HOP_CONNECT_TIMEOUT_SECONDS, read_timeout_seconds: float = HOP_READ_TIMEOUT_SECONDS
) -> float:
    """The longest a healthy but slow ``POST /orders`` can take to confirm: every hop waited for up to its
    timeouts, orders' own work, and the confirm margin (20 s with the default timeouts). A caller's budget at least
    this long never cuts short a checkout that would have confirmed."""
    return (
        CHECKOUT_HOPS * (connect_timeout_seconds + read_timeout_seconds) + _LOCAL_WORK_SECONDS + CONFIRM_MARGIN_SECONDS
    )


def longest_unsaved_seconds(
    connect_timeout_seconds: float = HOP_CONNECT_TIMEOUT_SECONDS, read_timeout_seconds: float = HOP_READ_TIMEOUT_SECONDS
) -> float:
    """The longest a live checkout or cancel goes without saving its order (18 s with the default timeouts): a
    recovery grace period shorter than this lets the sweep take orders a request is still working on."""
    return CALLS_BETWEEN_SAVES * (connect_timeout_seconds + read_timeout_seconds)


# Requests ---------------------------------------------------------------------------------------------------


class OrderItemIn(Strict):
    product_id: Id
    quantity: Quantity


class PaymentCard(Strict):
    """The card to charge; number and CVC are never stored or echoed back."""

    card_number: Annotated[str, Field(pattern=NUMBER_PATTERN, description="13 to 19 digits", json_schema_extra=_SECRET)]
    expiry: Annotated[str, Field(pattern=EXPIRY_PATTERN, description="MM/YY", examples=["12/30"])]
    cvc: Annotated[str, Field(pattern=CVC_PATTERN, description="3 or 4 digits", json_schema_extra=_SECRET)]


class OrderCreate(Strict):
    items: Annotated[list[OrderItemIn], Field(min_length=1, max_length=MAX_ITEMS, description="Distinct product ids.")]
    payment: PaymentCard


# Responses --------------------------------------------------------------------------------------------------


class OrderItemOut(BaseModel):
    """``name`` and ``unit_price_cents`` are known once the stock is reserved."""

    product_id: int
    name: str | None
    quantity: int
    unit_price_cents: int | None


class OrderOut(BaseModel):
    id: int
    user_id: int
    status: OrderStatus
    failure_reason: str | None
    items: list[OrderItemOut]
    total_cents: int | None
    currency: str | None
    payment_id: int | None
    saga_id: str = Field(description="The checkout's key at products and payments (32 hex digits)")
    created_at: str = Field(description="ISO 8601")
    updated_at: str = Field(description="ISO 8601")


class AuditOrder(BaseModel):
    order_id: int
    saga_id: str
    status: OrderStatus
    total_cents: int | None
    created_at: str = Field(description="ISO 8601, UTC")
    updated_at: str = Field(description="ISO 8601, UTC")
    status_changed_at: str = Field(description="ISO 8601, UTC: when the order entered its status")


class AuditOrders(KeysetPage[AuditKey]):
    """``GET /audit/orders``: a page of orders by saga id, for the integrity audit (internal; no caller identity)."""

    orders: list[AuditOrder]


class AuditOrdersQuery(KeysetQuery[AuditKey]):
    """``?after=&until=&limit=`` of ``GET /audit/orders``: saga ids."""


class OrderPage(BaseModel):
    items: list[OrderOut]
    total: int
    limit: int
    offset: int
