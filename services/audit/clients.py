"""The audit's view of the shop: each service's internal ``GET /audit/...`` read over :class:`telemetry.http.Client`.

The three endpoints are the audit contract of docs/architecture.md. A transport error, a non-200 answer or a
body outside the contract is an :class:`~services.common.errors.UpstreamFailure`, so a run that could not see
a service fails instead of passing on partial data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import requests

from services.common.errors import Failure, UpstreamFailure, upstream_failure
from telemetry.http import Client

from .domain import OrderRecord, PaymentRecord, ProductStock, ReservationRecord, StateSource

T = TypeVar("T")


def _get(http: Client, upstream: str, route: str) -> dict[str, Any]:
    try:
        response = http.get(route, route=route)
    except requests.RequestException as exc:
        raise upstream_failure(upstream, exc) from exc
    if response.status_code != 200:
        kind = Failure.SERVER_ERROR if response.status_code >= 500 else Failure.BAD_RESPONSE
        raise UpstreamFailure(upstream, kind, f"GET {route} at {upstream} answered {response.status_code}.")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise UpstreamFailure(upstream, Failure.BAD_RESPONSE, f"GET {route} at {upstream} is not a JSON object.")
    return body


def _rows(upstream: str, body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    rows = body.get(key)
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise UpstreamFailure(upstream, Failure.BAD_RESPONSE, f"{upstream} sent no list of {key}.")
    return rows


class HttpStateSource(StateSource):
    """Reads orders, payments and products over their internal HTTP APIs."""

    def __init__(self, *, orders: Client, payments: Client, products: Client) -> None:
        self.http = {"orders": orders, "payments": payments, "products": products}

    def orders(self) -> Sequence[OrderRecord]:
        body = _get(self.http["orders"], "orders", "/audit/orders")
        return self._parse("orders", lambda: [_order(row) for row in _rows("orders", body, "orders")])

    def payments(self) -> Sequence[PaymentRecord]:
        body = _get(self.http["payments"], "payments", "/audit/payments")
        return self._parse(
            "payments",
            lambda: [
                PaymentRecord(str(r["saga_id"]), int(r["order_id"]), str(r["status"]), int(r["amount_cents"]))
                for r in _rows("payments", body, "payments")
            ],
        )

    def stock(self) -> tuple[Sequence[ProductStock], Sequence[ReservationRecord]]:
        body = _get(self.http["products"], "products", "/audit/stock")
        products = self._parse(
            "products",
            lambda: [
                ProductStock(
                    int(r["product_id"]),
                    int(r["stock"]),
                    int(r["initial_stock"]),
                    int(r["restocked"]),
                    int(r["held"]),
                    int(r["committed"]),
                )
                for r in _rows("products", body, "products")
            ],
        )
        reservations = self._parse(
            "products",
            lambda: [
                ReservationRecord(str(r["reservation_id"]), str(r["status"]))
                for r in _rows("products", body, "reservations")
            ],
        )
        return products, reservations

    @staticmethod
    def _parse(upstream: str, build: Callable[[], T]) -> T:
        try:
            return build()
        except (KeyError, TypeError, ValueError) as exc:
            raise UpstreamFailure(upstream, Failure.BAD_RESPONSE, f"{upstream} sent a malformed audit row.") from exc

    def close(self) -> None:
        for http in self.http.values():
            http.close()


def _order(row: dict[str, Any]) -> OrderRecord:
    return OrderRecord(
        order_id=int(row["order_id"]),
        saga_id=str(row["saga_id"]),
        status=str(row["status"]),
        created_at=datetime.fromisoformat(str(row["created_at"])),
        updated_at=datetime.fromisoformat(str(row["updated_at"])),
    )
