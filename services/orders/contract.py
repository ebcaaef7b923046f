"""The orders service's HTTP contract: request and response models and their limits, written once.

``api.py`` validates with these models and documents its routes from them; the gateway's public API and the
typed clients of callers import them too, so a bound changed here changes everywhere at once.

Routes (identity from the gateway as ``X-User-Id`` / ``X-User-Role``):

``POST /orders``               :class:`OrderCreate` → 201 :class:`OrderOut`; optional ``Idempotency-Key`` header
``GET /orders``                :class:`OrderQuery` (query string) → :class:`OrderPage`, newest first
``GET /orders/{id}``           → :class:`OrderOut`
``POST /orders/{id}/cancel``   → :class:`OrderOut` (refunded, stock returned)
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import BaseModel, Field

from services.common.validation import Strict

#: Lines per order.
MAX_ITEMS: Final = 20
#: Units of one product per order.
MAX_QUANTITY: Final = 100
#: Largest id accepted anywhere (a signed 64-bit column).
MAX_ID: Final = 2**63 - 1
MAX_PAGE_SIZE: Final = 100
DEFAULT_PAGE_SIZE: Final = 20
MAX_OFFSET: Final = 1_000_000_000

IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH: Final = 255

#: Every state an order can be in (the saga's state machine is in ``domain/model.py``).
OrderStatus = Literal["pending", "reserved", "paid", "confirmed", "failed", "cancelled", "compensating"]
STATUSES: Final[tuple[OrderStatus, ...]] = get_args(OrderStatus)

_SECRET = {"writeOnly": True}


def valid_idempotency_key(key: str) -> bool:
    """1..255 printable ASCII characters."""
    return 1 <= len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH and all(" " <= c <= "~" for c in key)


# Requests ---------------------------------------------------------------------------------------------------


class OrderItemIn(Strict):
    product_id: Annotated[int, Field(gt=0, le=MAX_ID)]
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]


class PaymentCard(Strict):
    """The card to charge; number and CVC are never stored or echoed back."""

    card_number: Annotated[
        str, Field(pattern=r"^[0-9]{13,19}$", description="13 to 19 digits", json_schema_extra=_SECRET)
    ]
    expiry: Annotated[str, Field(pattern=r"^(0[1-9]|1[0-2])/[0-9]{2}$", description="MM/YY", examples=["12/30"])]
    cvc: Annotated[str, Field(pattern=r"^[0-9]{3,4}$", description="3 or 4 digits", json_schema_extra=_SECRET)]


class OrderCreate(Strict):
    items: Annotated[list[OrderItemIn], Field(min_length=1, max_length=MAX_ITEMS, description="Distinct product ids.")]
    payment: PaymentCard


class OrderQuery(Strict):
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0


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
    created_at: str = Field(description="ISO 8601")
    updated_at: str = Field(description="ISO 8601")


class OrderPage(BaseModel):
    items: list[OrderOut]
    total: int
    limit: int
    offset: int
