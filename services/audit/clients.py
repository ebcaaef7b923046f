"""The audit's view of the shop: each service's internal ``GET /audit/...`` read over :class:`telemetry.http.Client`.

The bodies are validated with the services' own contract models (``AuditOrders``, ``AuditPayments``,
``AuditStock``), so the audit and the services cannot disagree on the shape. A transport error, a non-200
answer or a body outside the contract is an :class:`~services.common.errors.UpstreamFailure`, so a run that
could not see a service fails instead of passing on partial data. Every read is made as the audit itself (its
internal token, :class:`~services.common.auth.InternalTokens`): the ``/audit/...`` endpoints answer no one else.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

import requests
from pydantic import BaseModel, ValidationError

from services.common.auth import InternalTokens
from services.common.errors import Failure, UpstreamFailure, upstream_failure
from services.common.stock import ProductStock
from services.orders.contract import AuditOrders
from services.payments.contract import AuditPayments
from services.products.contract import AuditStock
from telemetry.http import Client

from .domain import OrderRecord, PaymentRecord, ReservationRecord, StateSource

M = TypeVar("M", bound=BaseModel)


def _read(http: Client, tokens: InternalTokens, upstream: str, route: str, model: type[M]) -> M:
    try:
        response = http.get(route, route=route, headers=tokens.headers())
    except requests.RequestException as exc:
        raise upstream_failure(upstream, exc) from exc
    if response.status_code != 200:
        kind = Failure.SERVER_ERROR if response.status_code >= 500 else Failure.BAD_RESPONSE
        raise UpstreamFailure(upstream, kind, f"GET {route} at {upstream} answered {response.status_code}.")
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise UpstreamFailure(upstream, Failure.BAD_RESPONSE, f"GET {route} at {upstream} broke its contract.") from exc


class HttpStateSource(StateSource):
    """Reads orders, payments and products over their internal HTTP APIs."""

    def __init__(self, *, orders: Client, payments: Client, products: Client, tokens: InternalTokens) -> None:
        self.http = {"orders": orders, "payments": payments, "products": products}
        self.tokens = tokens

    def orders(self) -> Sequence[OrderRecord]:
        body = _read(self.http["orders"], self.tokens, "orders", "/audit/orders", AuditOrders)
        return [
            OrderRecord(
                order_id=o.order_id,
                saga_id=o.saga_id,
                status=o.status,
                created_at=datetime.fromisoformat(o.created_at),
                updated_at=datetime.fromisoformat(o.updated_at),
                status_changed_at=datetime.fromisoformat(o.status_changed_at),
            )
            for o in body.orders
        ]

    def payments(self) -> Sequence[PaymentRecord]:
        body = _read(self.http["payments"], self.tokens, "payments", "/audit/payments", AuditPayments)
        return [PaymentRecord(p.saga_id, p.order_id, p.status, p.amount_cents) for p in body.payments]

    def stock(self) -> tuple[Sequence[ProductStock], Sequence[ReservationRecord]]:
        body = _read(self.http["products"], self.tokens, "products", "/audit/stock", AuditStock)
        return list(body.products), [ReservationRecord(r.reservation_id, r.status) for r in body.reservations]

    def close(self) -> None:
        for http in self.http.values():
            http.close()
