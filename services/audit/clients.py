"""The audit's view of the shop: each service's internal ``GET /audit/...`` read over :class:`telemetry.http.Client`.

Each read is one keyset page (``?after=&until=&limit=``, ``services.common.contract.KeysetQuery``). The
bodies are validated with the services' own contract models (``AuditOrders``, ``AuditPayments``,
``AuditStock``, ``AuditReservations``), so the audit and the services cannot disagree on the shape. A
transport error, a non-200 answer or a body outside the contract is an
:class:`~services.common.errors.UpstreamFailure`, so a run that could not see a service fails instead of
passing on partial data. Every read is made as the audit itself (its
internal token, :class:`~services.common.auth.InternalTokens`): the ``/audit/...`` endpoints answer no one else.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import requests
from pydantic import BaseModel, ValidationError

from services.common.auth import InternalTokens
from services.common.errors import Failure, UpstreamFailure, upstream_failure
from services.common.stock import ProductStock
from services.orders.contract import AuditOrders
from services.payments.contract import AuditPayments
from services.products.contract import AuditReservations, AuditStock
from telemetry.http import Client

from .domain import OrderRecord, Page, PaymentRecord, ReservationRecord, StateSource

M = TypeVar("M", bound=BaseModel)
#: A page asked for: after, until, limit (``services.common.contract.KeysetQuery``).
Keys = tuple[str | int | None, str | int | None, int]


def _read(http: Client, tokens: InternalTokens, upstream: str, route: str, model: type[M], page: Keys) -> M:
    params = {name: value for name, value in zip(("after", "until", "limit"), page, strict=True) if value is not None}
    try:
        response = http.get(route, route=route, headers=tokens.headers(), params=params)
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
    """Reads orders, payments and products over their internal HTTP APIs, a keyset page per request."""

    def __init__(self, *, orders: Client, payments: Client, products: Client, tokens: InternalTokens) -> None:
        self.http = {"orders": orders, "payments": payments, "products": products}
        self.tokens = tokens

    def _read(self, upstream: str, route: str, model: type[M], page: Keys) -> M:
        return _read(self.http[upstream], self.tokens, upstream, route, model, page)

    def orders(self, *, after: str | None, until: str | None, limit: int) -> Page[str, OrderRecord]:
        body = self._read("orders", "/audit/orders", AuditOrders, (after, until, limit))
        rows = [
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
        return Page(rows, body.next)

    def payments(self, *, after: str | None, until: str | None, limit: int) -> Page[str, PaymentRecord]:
        body = self._read("payments", "/audit/payments", AuditPayments, (after, until, limit))
        return Page([PaymentRecord(p.saga_id, p.order_id, p.status, p.amount_cents) for p in body.payments], body.next)

    def reservations(self, *, after: str | None, until: str | None, limit: int) -> Page[str, ReservationRecord]:
        body = self._read("products", "/audit/reservations", AuditReservations, (after, until, limit))
        return Page([ReservationRecord(r.reservation_id, r.status) for r in body.reservations], body.next)

    def stock(self, *, after: int | None, until: int | None, limit: int) -> Page[int, ProductStock]:
        body = self._read("products", "/audit/stock", AuditStock, (after, until, limit))
        return Page(list(body.products), body.next)

    def close(self) -> None:
        for http in self.http.values():
            http.close()
