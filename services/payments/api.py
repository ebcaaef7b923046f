"""HTTP glue of the payments service: parse, call :class:`~services.payments.domain.Payments`, answer JSON.

POST /payments                 charge a card for an order (idempotent per order_id)
GET  /payments?order_id=N      the payments of an order
POST /payments/{id}/refund     refund a completed payment (idempotent)
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Literal

from flask import Blueprint, current_app, jsonify, request
from pydantic import BaseModel, BeforeValidator, Field

from services.common.errors import PaymentDeclined
from services.common.openapi import ApiSpec, path_param, query_param
from services.common.validation import Strict, parse_json_body, parse_query

from .domain import (
    BRANDS,
    CURRENCIES,
    DECLINED,
    MAX_AMOUNT_CENTS,
    MAX_ID,
    MIN_AMOUNT_CENTS,
    STATUSES,
    Payment,
    Payments,
)

bp = Blueprint("payments", __name__)


def _digits_only(value: object) -> object:
    """Query strings: ``7`` is an id; ``7.0``, ``+7``, ``7_000`` or `` 7`` are not."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be a positive integer")
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class CardIn(Strict):
    number: str = Field(description="13 to 19 digits, no spaces")
    expiry: str = Field(description="MM/YY", examples=["12/30"])
    cvc: str = Field(description="3 or 4 digits")


class ChargeIn(Strict):
    order_id: Id
    amount_cents: Annotated[int, Field(ge=MIN_AMOUNT_CENTS, le=MAX_AMOUNT_CENTS)]
    currency: Literal[CURRENCIES]
    card: CardIn


class OrderQuery(Strict):
    order_id: Annotated[int, BeforeValidator(_digits_only), Field(ge=1, le=MAX_ID)]


class PaymentOut(BaseModel):
    id: int
    order_id: int
    status: Literal[STATUSES]
    amount_cents: int
    currency: str
    card_brand: Literal[BRANDS]
    card_last4: str
    decline_code: str | None
    created_at: str = Field(description="ISO 8601, UTC")

    @classmethod
    def of(cls, payment: Payment) -> PaymentOut:
        created = payment.created_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return cls(
            id=payment.id,
            order_id=payment.order_id,
            status=payment.status,
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            card_brand=payment.card_brand,
            card_last4=payment.card_last4,
            decline_code=payment.decline_code,
            created_at=created,
        )


class PaymentList(BaseModel):
    items: list[PaymentOut]


def _payments() -> Payments:
    return current_app.extensions["payments"]


def _json(payment: Payment) -> dict:
    return PaymentOut.of(payment).model_dump()


@bp.post("/payments")
def charge():
    body = parse_json_body(ChargeIn, request)
    result = _payments().charge(
        body.order_id, body.amount_cents, body.currency, body.card.number, body.card.expiry, body.card.cvc
    )
    payment = result.payment
    if payment.status == DECLINED:
        raise PaymentDeclined("The card was declined.", code=payment.decline_code, details={"payment": _json(payment)})
    return jsonify(_json(payment)), 201 if result.created else 200


@bp.get("/payments")
def list_for_order():
    query = parse_query(OrderQuery, request.args)
    return jsonify(items=[_json(p) for p in _payments().for_order(query.order_id)])


@bp.post("/payments/<int:payment_id>/refund")
def refund(payment_id: int):
    return jsonify(_json(_payments().refund(payment_id)))


def openapi() -> ApiSpec:
    spec = ApiSpec(
        "tienda payments",
        "1.0.0",
        "Card charges and refunds. Idempotent per order; only a card's brand and last four digits are stored.",
    )
    spec.operation(
        "POST",
        "/payments",
        summary="Charge a card for an order; a repeat for the same order returns the stored outcome",
        request=ChargeIn,
        responses={201: PaymentOut, 200: PaymentOut, 400: None, 402: None, 409: None, 422: None},
        tags=["payments"],
    )
    spec.operation(
        "GET",
        "/payments",
        summary="The payments of an order",
        parameters=[{**query_param("order_id", {"type": "integer", "minimum": 1}), "required": True}],
        responses={200: PaymentList, 422: None},
        tags=["payments"],
    )
    spec.operation(
        "POST",
        "/payments/{id}/refund",
        summary="Refund a completed payment (idempotent)",
        parameters=[path_param("id", "payment id")],
        responses={200: PaymentOut, 404: None, 409: None},
        tags=["payments"],
    )
    return spec
