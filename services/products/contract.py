"""The products service's HTTP contract: request and response models and their limits, written once.

``api.py`` validates with these models and documents its routes from them; the gateway's public API, the
orders service's client and the OpenAPI documents import them too, so a bound changed here changes everywhere.

Routes (admin writes need an admin's internal token, which the gateway sends: :mod:`services.common.access`):

``GET /products``                      :class:`~services.common.contract.PageQuery` → :class:`ProductPage`
``GET /products/{id}``                 → :class:`ProductOut`
``POST /products``                     :class:`ProductCreate` → 201 :class:`ProductOut` (admin)
``PUT /products/{id}``                 :class:`ProductUpdate` → :class:`ProductOut` (admin)
``DELETE /products/{id}``              → 204 (admin)
``POST /products/{id}/restock``        :class:`Restock` → :class:`ProductOut` (admin)
``POST /reservations``                 :class:`ReservationCreate` → 201 (or 200 for a repeat) :class:`ReservationOut`
``GET /reservations/{id}``             → :class:`ReservationOut`
``POST /reservations/{id}/commit|release|return``   → :class:`ReservationOut`
``GET /audit/stock``                   :class:`AuditStockQuery` → :class:`AuditStock` (the integrity audit's)
``GET /audit/reservations``            :class:`AuditReservationsQuery` → :class:`AuditReservations` (the audit's)
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import BaseModel, Field, StringConstraints

from services.common.contract import (
    CURRENCY,
    RESERVATION_ID_PATTERN,
    AuditKey,
    Currency,
    Id,
    KeysetPage,
    KeysetQuery,
    free_text,
    one_line,
)
from services.common.errors import Conflict, InvalidInput
from services.common.stock import ProductStock
from services.common.validation import Strict

#: Lines per reservation (and so per order).
MAX_ITEMS: Final = 20
#: Units of one product per reservation (and so per order line).
MAX_QUANTITY: Final = 100
MAX_STOCK: Final = 1_000_000
MAX_PRICE_CENTS: Final = 10_000_000
SKU_MAX_LENGTH: Final = 64
SKU_PATTERN: Final = r"^[A-Za-z0-9_-]+$"
NAME_MAX_LENGTH: Final = 200
DESCRIPTION_MAX_LENGTH: Final = 2000

ReservationStatus = Literal["held", "committed", "released", "returned"]
STATUSES: Final[tuple[ReservationStatus, ...]] = get_args(ReservationStatus)

#: Error codes products answers with that its callers tell apart (the orders service's client and domain).
#: 422: an item names a product that does not exist, or names one product twice.
UNKNOWN_PRODUCT: Final = "unknown_product"
DUPLICATE_PRODUCT: Final = "duplicate_product"
#: 409 on a reservation: some item's stock is short (``details``: ``[{product_id, requested, available}]``).
INSUFFICIENT_STOCK: Final = "insufficient_stock"
#: 409 on a transition: the reservation is already committed, released or returned.
RESERVATION_COMMITTED: Final = "reservation_committed"
RESERVATION_RELEASED: Final = "reservation_released"
RESERVATION_RETURNED: Final = "reservation_returned"


class UnknownProduct(InvalidInput, code=UNKNOWN_PRODUCT):
    """An item names a product that does not exist (or was deleted)."""


class DuplicateProduct(InvalidInput, code=DUPLICATE_PRODUCT):
    """Two items name the same product."""


class InsufficientStock(Conflict, code=INSUFFICIENT_STOCK):
    """Not every item could be held; ``details`` is ``[{product_id, requested, available}]``. Orders answers it
    as its own: the customer sees what products said."""


Sku = Annotated[str, StringConstraints(min_length=1, max_length=SKU_MAX_LENGTH, pattern=SKU_PATTERN)]
ProductName = Annotated[str, one_line(NAME_MAX_LENGTH), Field(description="Leading and trailing blanks removed.")]
Description = Annotated[str, free_text(DESCRIPTION_MAX_LENGTH)]
PriceCents = Annotated[int, Field(ge=1, le=MAX_PRICE_CENTS)]
ReservationId = Annotated[str, StringConstraints(pattern=RESERVATION_ID_PATTERN)]
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]


# --- requests ---------------------------------------------------------------------------------------------


class ProductCreate(Strict):
    sku: Sku
    name: ProductName
    description: Description = ""
    price_cents: PriceCents
    currency: Currency = CURRENCY
    stock: Annotated[int, Field(ge=0, le=MAX_STOCK)] = 0


class ProductUpdate(Strict):
    name: ProductName
    description: Description = ""
    price_cents: PriceCents


class Restock(Strict):
    quantity: Annotated[int, Field(ge=1, le=MAX_STOCK)]


class ReservationItemIn(Strict):
    product_id: Id
    quantity: Quantity


class ReservationCreate(Strict):
    reservation_id: ReservationId
    items: Annotated[list[ReservationItemIn], Field(min_length=1, max_length=MAX_ITEMS)]


# --- responses --------------------------------------------------------------------------------------------


class ProductOut(BaseModel):
    id: int
    sku: str
    name: str
    description: str
    price_cents: int
    currency: str
    stock: int


class ProductPage(BaseModel):
    items: list[ProductOut]
    total: int
    limit: int
    offset: int


class ReservedItemOut(BaseModel):
    product_id: int
    name: str
    quantity: int
    unit_price_cents: int


class AuditReservation(BaseModel):
    reservation_id: str
    status: ReservationStatus
    updated_at: str = Field(description="ISO 8601, UTC")


class AuditStock(KeysetPage[Id]):
    """``GET /audit/stock``: a page of products' stock figures by product id, for the integrity audit."""

    products: list[ProductStock]


class AuditStockQuery(KeysetQuery[Id]):
    """``?after=&until=&limit=`` of ``GET /audit/stock``: product ids."""


class AuditReservations(KeysetPage[AuditKey]):
    """``GET /audit/reservations``: a page of reservations' states by reservation id, for the integrity audit."""

    reservations: list[AuditReservation]


class AuditReservationsQuery(KeysetQuery[AuditKey]):
    """``?after=&until=&limit=`` of ``GET /audit/reservations``: reservation ids (the sagas' ids)."""


class ReservationOut(BaseModel):
    reservation_id: str
    status: ReservationStatus
    items: list[ReservedItemOut]
    total_cents: int
    currency: str
