"""HTTP glue of the orders service: parse and validate, call :class:`~services.orders.domain.OrderService`,
answer JSON. Errors are DomainErrors, mapped to the JSON error body in one place (``services.common.errors``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from pydantic import BaseModel

from services.common.auth import identity_from_headers
from services.common.cards import parse_card
from services.common.errors import InvalidInput
from services.common.openapi import ApiSpec, header_param, path_param, query_param
from services.common.validation import parse_json_body, parse_query

from .contract import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    OrderCreate,
    OrderOut,
    OrderPage,
    OrderQuery,
    valid_idempotency_key,
)
from .domain import Card, Line, OrderService, PlaceOrder

blueprint = Blueprint("orders", __name__)


# Handlers ---------------------------------------------------------------------------------------------------


def _service() -> OrderService:
    return current_app.extensions["orders"]


def _idempotency_key() -> str | None:
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is not None and not valid_idempotency_key(key):
        raise InvalidInput(
            f"{IDEMPOTENCY_KEY_HEADER} must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters.",
            code="invalid_idempotency_key",
        )
    return key


_CARD_FIELDS = ("payment.card_number", "payment.expiry", "payment.cvc")


@blueprint.post("/orders")
def place_order():
    identity = identity_from_headers(request.headers)
    key = _idempotency_key()
    body = parse_json_body(OrderCreate, request)
    # A card that payments would refuse as malformed (Luhn, expired) is rejected here, before an order exists.
    parse_card(
        body.payment.card_number, body.payment.expiry, body.payment.cvc, datetime.now(UTC).date(), fields=_CARD_FIELDS
    )
    command = PlaceOrder(
        user_id=identity.user_id,
        lines=tuple(Line(item.product_id, item.quantity) for item in body.items),
        card=Card(body.payment.card_number, body.payment.expiry, body.payment.cvc),
        idempotency_key=key,
    )
    outcome = _service().place_order(command)
    return jsonify(outcome.body), outcome.status


@blueprint.get("/orders")
def list_orders():
    identity = identity_from_headers(request.headers)
    query = parse_query(OrderQuery, request.args)
    orders, total = _service().list_orders(identity.user_id, limit=query.limit, offset=query.offset)
    return jsonify(items=[o.to_dict() for o in orders], total=total, limit=query.limit, offset=query.offset)


@blueprint.get("/orders/<int:order_id>")
def get_order(order_id: int):
    identity = identity_from_headers(request.headers)
    return jsonify(_service().get_order(identity.user_id, order_id).to_dict())


@blueprint.post("/orders/<int:order_id>/cancel")
def cancel_order(order_id: int):
    identity = identity_from_headers(request.headers)
    return jsonify(_service().cancel_order(identity.user_id, order_id).to_dict())


# OpenAPI ----------------------------------------------------------------------------------------------------


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The query parameters of ``model``, with the bounds it validates (one source for both)."""
    return [query_param(name, schema) for name, schema in model.model_json_schema()["properties"].items()]


def build_spec(version: str) -> ApiSpec:
    spec = ApiSpec(
        "tienda orders",
        version,
        "Orders and the checkout saga: reserve stock, charge the card, commit; compensated on failure. "
        "Identity comes from the gateway as X-User-Id / X-User-Role.",
    )
    order_id = path_param("id", "Order id")
    spec.operation(
        "POST",
        "/orders",
        summary="Place an order (reserve, charge, commit)",
        request=OrderCreate,
        responses={201: OrderOut, 400: None, 401: None, 402: None, 409: None, 422: None, 503: None, 504: None},
        parameters=[
            header_param(
                IDEMPOTENCY_KEY_HEADER,
                "Replays with the same key and body return the first answer without charging again.",
                IDEMPOTENCY_KEY_MAX_LENGTH,
            )
        ],
        auth=True,
        tags=["orders"],
    )
    spec.operation(
        "GET",
        "/orders",
        summary="The caller's orders, newest first",
        responses={200: OrderPage, 401: None, 422: None},
        parameters=_query_params(OrderQuery),
        auth=True,
        tags=["orders"],
    )
    spec.operation(
        "GET",
        "/orders/{id}",
        summary="One of the caller's orders",
        responses={200: OrderOut, 401: None, 404: None},
        parameters=[order_id],
        auth=True,
        tags=["orders"],
    )
    spec.operation(
        "POST",
        "/orders/{id}/cancel",
        summary="Cancel a confirmed order: refund, then return the stock",
        responses={200: OrderOut, 401: None, 404: None, 409: None, 503: None, 504: None},
        parameters=[order_id],
        auth=True,
        tags=["orders"],
    )
    return spec
