"""The public API's OpenAPI document: request and response shapes mirroring the service contracts.

The gateway does not validate request bodies itself (the services behind it do, and answer 422 with the
fields that failed); these models describe what those services accept, with the bounds they enforce, so
clients and fuzzers see the real contract. Path ids are integers in ``1..2**31-1``: the gateway's route
converter enforces that range, so anything else is a 404 before any service is called.

Paths are documented without the ``/api/v1`` prefix, which is the document's server URL: the document is
served at ``/api/v1/openapi.json`` (and ``/openapi.json``), and a tool given either the document's address or
``--url http://gateway/api/v1`` as the base sends requests to the right place.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from services.common.openapi import ApiSpec, header_param, path_param, query_param
from services.common.validation import Strict

API_PREFIX = "/api/v1"
#: Largest id a resource can have (32-bit integer columns); the gateway's route converter enforces it.
MAX_ID = 2**31 - 1
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
#: Deepest page offset (what every listing service accepts).
MAX_OFFSET = 1_000_000_000
EMAIL_MAX_LENGTH = 254
EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$"
MAX_STOCK = 1_000_000
MAX_PRICE_CENTS = 10_000_000
MAX_IDEMPOTENCY_KEY_LENGTH = 255

IDEMPOTENCY_KEY_DOC = (
    "1 to 255 printable ASCII characters. Repeating an order with the same key returns the first result instead of "
    "ordering again."
)

_PASSWORD = {"format": "password", "writeOnly": True}
_SECRET = {"writeOnly": True}

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
# No control characters (PostgreSQL refuses NUL in text); descriptions may have tabs and line breaks.
ProductName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="Leading and trailing blanks removed.",
    ),
]
Description = Annotated[str, Field(max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
PriceCents = Annotated[int, Field(ge=1, le=MAX_PRICE_CENTS)]


# --- request bodies ---------------------------------------------------------------------------------------


class RegisterUser(Strict):
    email: str = Field(max_length=EMAIL_MAX_LENGTH, pattern=EMAIL_PATTERN, description="Unique, any letter case.")
    password: str = Field(min_length=8, max_length=128, json_schema_extra=_PASSWORD)
    name: str = Field(min_length=1, max_length=100, description="Leading and trailing blanks removed.")


class TokenRequest(Strict):
    email: str = Field(max_length=EMAIL_MAX_LENGTH)
    password: str = Field(max_length=128, json_schema_extra=_PASSWORD)


class ProductCreate(Strict):
    sku: Sku
    name: ProductName
    description: Description = ""
    price_cents: PriceCents
    currency: Literal["EUR"] = "EUR"
    stock: Annotated[int, Field(ge=0, le=MAX_STOCK)] = 0


class ProductUpdate(Strict):
    name: ProductName
    description: Description = ""
    price_cents: PriceCents


class Restock(Strict):
    quantity: Annotated[int, Field(ge=1, le=MAX_STOCK)]


class OrderItemIn(Strict):
    product_id: Id
    quantity: Annotated[int, Field(ge=1, le=100)]


class PaymentCard(Strict):
    card_number: str = Field(pattern=r"^[0-9]{13,19}$", json_schema_extra=_SECRET)
    expiry: str = Field(pattern=r"^(0[1-9]|1[0-2])/[0-9]{2}$", description="MM/YY", examples=["12/30"])
    cvc: str = Field(pattern=r"^[0-9]{3,4}$", json_schema_extra=_SECRET)


class OrderCreate(Strict):
    items: list[OrderItemIn] = Field(min_length=1, max_length=20, description="Distinct product ids.")
    payment: PaymentCard


# --- responses --------------------------------------------------------------------------------------------


class User(BaseModel):
    id: int
    email: str
    name: str
    role: Literal["user", "admin"]
    created_at: str = Field(description="ISO 8601")


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int = Field(description="Seconds until the token expires.")


class Product(BaseModel):
    id: int
    sku: str
    name: str
    description: str
    price_cents: int
    currency: str
    stock: int


class ProductPage(BaseModel):
    items: list[Product]
    total: int
    limit: int
    offset: int


class OrderLine(BaseModel):
    """``name`` and ``unit_price_cents`` are known once the stock is reserved."""

    product_id: int
    name: str | None
    quantity: int
    unit_price_cents: int | None


class Order(BaseModel):
    id: int
    user_id: int
    status: Literal["pending", "reserved", "paid", "confirmed", "failed", "cancelled", "compensating"]
    failure_reason: str | None
    items: list[OrderLine]
    total_cents: int | None
    currency: str | None
    payment_id: int | None
    created_at: str = Field(description="ISO 8601")
    updated_at: str = Field(description="ISO 8601")


class OrderPage(BaseModel):
    items: list[Order]
    total: int
    limit: int
    offset: int


class Payment(BaseModel):
    id: int
    order_id: int
    status: Literal["completed", "declined", "refunded"]
    amount_cents: int
    currency: str
    card_brand: str
    card_last4: str
    decline_code: str | None
    created_at: str = Field(description="ISO 8601")


class OrderDetails(BaseModel):
    """An order with its payments. When the payments service cannot answer, the order is still returned,
    with ``payments`` null and ``partial`` true."""

    order: Order
    payments: list[Payment] | None
    partial: bool


# --- the document -----------------------------------------------------------------------------------------

_FAILURES: dict[int, type[BaseModel] | None] = {502: None, 503: None, 504: None}
_BODY: dict[int, type[BaseModel] | None] = {400: None, 413: None, 422: None}
_AUTH: dict[int, type[BaseModel] | None] = {401: None}


def _page_params() -> list[dict[str, Any]]:
    return [
        query_param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE}),
        query_param("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}),
    ]


def _id(name: str, what: str) -> dict[str, Any]:
    param = path_param(name, what)
    param["schema"]["maximum"] = MAX_ID
    return param


def build_spec() -> ApiSpec:
    """The gateway's public API; paths are relative to :data:`API_PREFIX`."""
    spec = ApiSpec(
        "tienda public API",
        "1.0.0",
        "The shop's only public entry. Protected operations take a bearer JWT from `POST /auth/token`. "
        'Errors are `{"error": {"code", "message", "request_id"}}`; 502/503/504 mean a service behind '
        "the gateway failed, is unavailable, or timed out.",
    )
    product_id = _id("product_id", "Product id")
    order_id = _id("order_id", "Order id (only your own orders are found)")
    spec.operation(
        "POST", "/users", summary="Register", tags=["users"], request=RegisterUser,
        responses={201: User, **_BODY, 409: None, **_FAILURES},
    )  # fmt: skip
    spec.operation(
        "POST", "/auth/token", summary="Get an access token", tags=["users"], request=TokenRequest,
        responses={200: Token, **_BODY, 401: None, **_FAILURES},
    )  # fmt: skip
    spec.operation(
        "GET", "/users/me", summary="The caller", tags=["users"], auth=True,
        responses={200: User, **_AUTH, 404: None, **_FAILURES},
    )  # fmt: skip
    spec.operation(
        "GET", "/products", summary="List products", tags=["products"], parameters=_page_params(),
        responses={200: ProductPage, 422: None, **_FAILURES},
    )  # fmt: skip
    spec.operation(
        "POST", "/products", summary="Create a product (admin)", tags=["products"], auth=True,
        request=ProductCreate, responses={201: Product, **_BODY, **_AUTH, 403: None, 409: None, **_FAILURES},
    )  # fmt: skip
    spec.operation(
        "GET", "/products/{product_id}", summary="A product", tags=["products"], parameters=[product_id],
        responses={200: Product, 404: None, **_FAILURES},
    )  # fmt: skip
    spec.operation(
        "PUT", "/products/{product_id}", summary="Change a product (admin)", tags=["products"], auth=True,
        parameters=[product_id], request=ProductUpdate,
        responses={200: Product, **_BODY, **_AUTH, 403: None, 404: None, **_FAILURES},
    )  # fmt: skip
    spec.operation(
        "DELETE", "/products/{product_id}", summary="Delete a product (admin)", tags=["products"], auth=True,
        parameters=[product_id], responses={204: None, **_AUTH, 403: None, 404: None, **_FAILURES},
    )  # fmt: skip
    spec.operation(
        "POST", "/products/{product_id}/restock", summary="Add stock (admin)", tags=["products"], auth=True,
        parameters=[product_id], request=Restock,
        responses={200: Product, **_BODY, **_AUTH, 403: None, 404: None, **_FAILURES},
    )  # fmt: skip
    spec.operation(
        "POST", "/orders", summary="Place an order", tags=["orders"], auth=True, request=OrderCreate,
        parameters=[header_param("Idempotency-Key", IDEMPOTENCY_KEY_DOC, MAX_IDEMPOTENCY_KEY_LENGTH)],
        responses={200: Order, 201: Order, **_BODY, **_AUTH, 402: None, 409: None, **_FAILURES},
    )  # fmt: skip
    spec.operation(
        "GET", "/orders", summary="Your orders, newest first", tags=["orders"], auth=True,
        parameters=_page_params(), responses={200: OrderPage, **_AUTH, 422: None, **_FAILURES},
    )  # fmt: skip
    spec.operation(
        "GET", "/orders/{order_id}", summary="One of your orders", tags=["orders"], auth=True,
        parameters=[order_id], responses={200: Order, **_AUTH, 404: None, **_FAILURES},
    )  # fmt: skip
    spec.operation(
        "POST", "/orders/{order_id}/cancel", summary="Cancel an order (refund, restock)", tags=["orders"],
        auth=True, parameters=[order_id], responses={200: Order, **_AUTH, 404: None, 409: None, **_FAILURES},
    )  # fmt: skip
    spec.operation(
        "GET", "/orders/{order_id}/details", summary="An order with its payments", tags=["orders"], auth=True,
        parameters=[order_id], responses={200: OrderDetails, **_AUTH, 404: None, **_FAILURES},
    )  # fmt: skip
    return spec


def openapi_document() -> dict[str, Any]:
    document = build_spec().to_dict()
    document["servers"] = [{"url": API_PREFIX, "description": "this gateway"}]
    return document
