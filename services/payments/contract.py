"""The payments service's HTTP contract: request and response models and their limits, written once.

``api.py`` validates with these models and documents its routes from them; the orders service's client and the
gateway's public API import them too.

``POST /payments``                 :class:`ChargeIn` → 201 :class:`PaymentOut` (200 for a saga's repeat; 402 declined)
``GET /payments?order_id=N``       :class:`PaymentQuery` → :class:`PaymentList` (or ``?saga_id=...``)
``POST /payments/void``            :class:`VoidIn` → :class:`PaymentOut` (202 while still processing)
``POST /payments/{id}/refund``     → :class:`PaymentOut`
``GET /audit/payments``            :class:`AuditPaymentsQuery` → :class:`AuditPayments` (a keyset page by saga key,
                                   for the integrity audit)
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import BaseModel, BeforeValidator, Field, model_validator

from services.common.contract import HEX_UUID, AuditKey, Currency, Id, KeysetPage, KeysetQuery
from services.common.validation import Strict

MIN_AMOUNT_CENTS: Final = 1
MAX_AMOUNT_CENTS: Final = 100_000_000

PaymentStatus = Literal["processing", "completed", "declined", "refunded", "voided"]
STATUSES: Final[tuple[PaymentStatus, ...]] = get_args(PaymentStatus)
DeclineCode = Literal["card_declined", "insufficient_funds"]
DECLINE_CODES: Final[tuple[DeclineCode, ...]] = get_args(DeclineCode)
CardBrand = Literal["visa", "mastercard", "amex", "discover", "unknown"]
BRANDS: Final[tuple[CardBrand, ...]] = get_args(CardBrand)


#: The saga id orders gives a checkout (a UUID4 as 32 lowercase hex digits): the charge's idempotency key.
SagaId = Annotated[str, Field(pattern=rf"^{HEX_UUID}$", description="32 lowercase hex digits (a UUID4)")]
#: What names an existing charge: a saga id, or ``order-{id}`` for a charge made before saga ids (the
#: migrations gave such a charge and its order that key). A new charge always brings a saga id.
SagaKey = Annotated[
    str,
    Field(
        pattern=rf"^(?:{HEX_UUID}|order-[1-9][0-9]{{0,18}})$",
        description="a saga id, or order-{id} for a charge made before saga ids",
    ),
]


def _digits_only(value: object) -> object:
    """Query strings: ``7`` is an id; ``7.0``, ``+7``, ``7_000`` or `` 7`` are not."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be a positive integer")
    return value


class CardIn(Strict):
    """Checked by the service itself (``services.common.cards``), so a malformed card is ``invalid_card``."""

    number: str = Field(description="13 to 19 digits, no spaces", json_schema_extra={"writeOnly": True})
    expiry: str = Field(description="MM/YY", examples=["12/30"])
    cvc: str = Field(description="3 or 4 digits", json_schema_extra={"writeOnly": True})


class ChargeIn(Strict):
    saga_id: SagaId
    order_id: Id
    amount_cents: Annotated[int, Field(ge=MIN_AMOUNT_CENTS, le=MAX_AMOUNT_CENTS)]
    currency: Currency
    card: CardIn


class VoidIn(Strict):
    """The saga orders gave up on: whatever its charge did, or will do when it arrives late, does not stick."""

    saga_id: SagaKey


class PaymentQuery(Strict):
    """Exactly one of the two: the payments of an order id, or the payment of a saga."""

    order_id: Annotated[Id, BeforeValidator(_digits_only)] | None = None
    saga_id: SagaKey | None = None

    @model_validator(mode="after")
    def _one_of(self) -> PaymentQuery:
        if (self.order_id is None) == (self.saga_id is None):
            raise ValueError("give either order_id or saga_id")
        return self


class PaymentOut(BaseModel):
    id: int
    saga_id: str
    order_id: int
    status: PaymentStatus
    amount_cents: int
    currency: str
    card_brand: CardBrand
    card_last4: str
    decline_code: str | None
    created_at: str = Field(description="ISO 8601, UTC")


class PaymentList(BaseModel):
    items: list[PaymentOut]


class AuditPayment(BaseModel):
    saga_id: str
    order_id: int
    status: PaymentStatus
    amount_cents: int
    updated_at: str = Field(description="ISO 8601, UTC")


class AuditPayments(KeysetPage[AuditKey]):
    """``GET /audit/payments``: a page of payments by saga key, for the integrity audit (internal)."""

    payments: list[AuditPayment]


class AuditPaymentsQuery(KeysetQuery[AuditKey]):
    """``?after=&until=&limit=`` of ``GET /audit/payments``: saga keys."""
