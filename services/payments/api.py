"""HTTP glue of the payments service: parse, call :class:`~services.payments.domain.PaymentService`, answer JSON.

Request and response shapes are the models of :mod:`services.payments.contract`; :func:`openapi` documents every
route with the same models.
"""

from __future__ import annotations

import functools

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue as Answer

from services.common.access import callers, services, users
from services.common.contract import utc_timestamp
from services.common.openapi import ApiSpec, path_param, query_params
from services.common.validation import parse_json_body, parse_query
from services.common.web import audit_read

from .contract import (
    AuditPayment,
    AuditPayments,
    AuditPaymentsQuery,
    ChargeIn,
    PaymentList,
    PaymentOut,
    PaymentQuery,
    VoidIn,
)
from .domain import PROCESSING, Payment, PaymentService


def blueprint(service: PaymentService) -> Blueprint:
    """The routes of the service, bound to ``service``; each declares its callers (:mod:`services.common.access`).

    ``GET /payments`` answers a user through the gateway without knowing whose order it is: the gateway asks
    only after orders showed it the order is the caller's (``GET /api/v1/orders/{id}/details``).
    """
    bp = Blueprint("payments", __name__)

    @bp.post("/payments")
    @callers(services("orders"))
    def charge() -> Answer:
        body = parse_json_body(ChargeIn, request)
        card = body.card
        result = service.charge_or_decline(
            body.saga_id, body.order_id, body.amount_cents, body.currency, card.number, card.expiry, card.cvc
        )
        return jsonify(result.payment.to_dict()), 201 if result.created else 200

    @bp.get("/payments")
    @callers(users())
    def list_payments() -> Answer:
        found = service.list_payments(parse_query(PaymentQuery, request.args))
        return jsonify(items=[p.to_dict() for p in found])

    @bp.post("/payments/void")
    @callers(services("orders"))
    def void() -> Answer:
        payment = service.void(parse_json_body(VoidIn, request).saga_id)
        return jsonify(payment.to_dict()), 202 if payment.status == PROCESSING else 200

    @bp.post("/payments/<int:payment_id>/refund")
    @callers(services("orders"))
    def refund(payment_id: int) -> Answer:
        return jsonify(service.refund(payment_id).to_dict())

    audit_read(bp, "payments", AuditPaymentsQuery, AuditPayments, service.audit_payments, lambda p: p.saga_id, _audit)

    return bp


def _audit(payment: Payment) -> AuditPayment:
    stamp = utc_timestamp(payment.updated_at or payment.created_at)
    return AuditPayment.model_validate({**vars(payment), "updated_at": stamp})


@functools.cache
def openapi() -> ApiSpec:
    """The OpenAPI document of every route of :func:`blueprint` (built once: the models never change)."""
    spec = ApiSpec(
        "tienda payments",
        "Card charges and refunds. Idempotent per saga id; only a card's brand and last four digits are stored.",
        internal=True,
    )
    operation = functools.partial(spec.operation, tags=["payments"])
    operation(
        "POST", "/payments", request=ChargeIn,
        summary="Charge a card for an order's saga; a repeat for the same saga returns the stored outcome",
        responses={200: PaymentOut, 201: PaymentOut, 402: None, 409: None},
    )  # fmt: skip
    operation(
        "GET", "/payments", summary="The payments of an order id, or of a saga", parameters=query_params(PaymentQuery),
        responses={200: PaymentList, 422: None},
    )  # fmt: skip
    operation(
        "POST", "/payments/void", request=VoidIn,
        summary="Void a saga's charge: refund it if completed, refuse it for good if it has not arrived yet",
        responses={200: PaymentOut, 202: PaymentOut},
    )  # fmt: skip
    operation(
        "POST", "/payments/{id}/refund", summary="Refund a completed payment (idempotent)",
        parameters=[path_param("id", "payment id")], responses={200: PaymentOut, 404: None, 409: None},
    )  # fmt: skip
    spec.audit_read("payments", "A page of payments by saga key", AuditPaymentsQuery, AuditPayments)
    return spec
