"""HTTP glue of the orders service: parse and validate, call :class:`~services.orders.domain.OrderService`,
answer JSON. Errors are DomainErrors, mapped to the JSON error body in one place (``services.common.errors``).

Request and response shapes are the models of :mod:`services.orders.contract`; :func:`openapi` documents every
route with the same models, so the document and the handlers cannot disagree.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue as Answer

from services.common.access import callers, current_user, users
from services.common.cards import parse_card
from services.common.contract import REPLAYED, PageQuery, idempotency_key, idempotency_key_parameter, utc_timestamp
from services.common.openapi import UPSTREAM_FAILURES, ApiSpec, path_param, query_params
from services.common.validation import parse_json_body, parse_query
from services.common.web import audit_read

from .contract import AuditOrder, AuditOrders, AuditOrdersQuery, OrderCreate, OrderOut, OrderPage
from .domain import CANCELLING, AuditedOrder, Line, OrderService, PlaceOrder

#: Where card problems are reported in error details, as this API spells the fields.
_CARD_FIELDS = ("payment.card_number", "payment.expiry", "payment.cvc")


def blueprint(service: OrderService) -> Blueprint:
    """The routes of the service, bound to ``service``; each declares its callers (:mod:`services.common.access`)."""
    bp = Blueprint("orders", __name__)

    @bp.post("/orders")
    @callers(users())
    def place_order() -> Answer:
        identity = current_user()
        key = idempotency_key(request.headers)
        body = parse_json_body(OrderCreate, request)
        # A card that payments would refuse as malformed (Luhn, expired) is rejected here, before an order exists.
        payment = body.payment
        card = parse_card(payment.card_number, payment.expiry, payment.cvc, datetime.now(UTC).date(), _CARD_FIELDS)
        command = PlaceOrder(
            user_id=identity.user_id,
            lines=tuple(Line(item.product_id, item.quantity) for item in body.items),
            card=card,
            idempotency_key=key,
        )
        outcome = service.place_order(command)
        return jsonify(outcome.body), outcome.status, REPLAYED if outcome.replayed else {}

    @bp.get("/orders")
    @callers(users())
    def list_orders() -> Answer:
        identity = current_user()
        page = parse_query(PageQuery, request.args)
        orders, total = service.list_orders(identity.user_id, limit=page.limit, offset=page.offset)
        return jsonify(items=[o.to_dict() for o in orders], total=total, limit=page.limit, offset=page.offset)

    @bp.get("/orders/<int:order_id>")
    @callers(users())
    def get_order(order_id: int) -> Answer:
        identity = current_user()
        return jsonify(service.get_order(identity.user_id, order_id).to_dict())

    @bp.post("/orders/<int:order_id>/cancel")
    @callers(users())
    def cancel_order(order_id: int) -> Answer:
        identity = current_user()
        order = service.cancel_order(identity.user_id, order_id)
        # 202: the cancel is persisted and will be finished (by the recovery sweep, or by cancelling again).
        return jsonify(order.to_dict()), 202 if order.status == CANCELLING else 200

    audit_read(bp, "orders", AuditOrdersQuery, AuditOrders, service.audit_orders, lambda o: o.saga_id, _audit)

    return bp


def _audit(order: AuditedOrder) -> AuditOrder:
    return AuditOrder(
        order_id=order.id, saga_id=order.saga_id, status=order.status, total_cents=order.total_cents,
        created_at=utc_timestamp(order.created_at, "microseconds"),
        updated_at=utc_timestamp(order.updated_at, "microseconds"),
        status_changed_at=utc_timestamp(order.status_changed_at, "microseconds"),
    )  # fmt: skip


@functools.cache
def openapi() -> ApiSpec:
    spec = ApiSpec(
        "tienda orders",
        "Orders and the checkout saga: reserve stock, charge the card, commit; compensated on failure. "
        "Every route needs an internal token (docs/security.md): a user's through the gateway, or the audit's.",
        internal=True,
    )
    order_id = path_param("id", "Order id")
    operation = functools.partial(spec.operation, auth=True, tags=["orders"])  # every route needs the caller
    operation(
        "POST", "/orders", summary="Place an order (reserve, charge, commit)", request=OrderCreate,
        parameters=[idempotency_key_parameter()],
        responses={201: OrderOut, 402: None, 409: None, **UPSTREAM_FAILURES},
    )  # fmt: skip
    operation(
        "GET", "/orders", summary="The caller's orders, newest first", parameters=query_params(PageQuery),
        responses={200: OrderPage, 422: None},
    )  # fmt: skip
    operation(
        "GET", "/orders/{id}", summary="One of the caller's orders", parameters=[order_id],
        responses={200: OrderOut, 404: None},
    )  # fmt: skip
    operation(
        "POST", "/orders/{id}/cancel",
        summary="Cancel a confirmed order: refund, then return the stock (202: still cancelling, finished later)",
        parameters=[order_id], responses={200: OrderOut, 202: OrderOut, 404: None, 409: None},
    )  # fmt: skip
    spec.audit_read("orders", "A page of orders by saga id", AuditOrdersQuery, AuditOrders)
    return spec
