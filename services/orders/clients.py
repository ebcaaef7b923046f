"""The services the orders saga calls, behind the domain's ports, over :class:`telemetry.http.Client`.

Each method makes one call (a client span named after the route template, propagation, client metrics)
and turns the answer into a domain result or exception, per the contracts in ``docs/architecture.md``:

* products ``409 insufficient_stock`` → :class:`OutOfStock` with the details, ``422`` →
  :class:`UnknownProduct`; ``409 reservation_committed`` on a release → :class:`ReservationCommitted`;
* payments ``402`` → :class:`PaymentDeclined` with the decline code, ``422`` → :class:`InvalidCard`;
* a refused connection, a timeout, a 5xx, or any answer outside the contract → :class:`UpstreamFailure`
  (504 for a timeout, else 503), which says whether the request may have had an effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from services.common.errors import PaymentDeclined
from telemetry.http import Client

from .domain import (
    Card,
    InvalidCard,
    Inventory,
    Line,
    OutOfStock,
    Payment,
    Payments,
    Reservation,
    ReservationCommitted,
    ReservedItem,
    UnknownProduct,
    UpstreamFailure,
)


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the connection could not be opened, so the server never saw the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, (NewConnectionError, ConnectTimeoutError))
    return False


def _error(response: requests.Response) -> tuple[str, str, Any]:
    """``(code, message, details)`` of a JSON error answer; empty values when it is not one."""
    try:
        error = response.json()["error"]
        return str(error.get("code", "")), str(error.get("message", "")), error.get("details")
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", "", None


class _Upstream:
    """One upstream service: calls, transport failures and 5xx as :class:`UpstreamFailure`."""

    def __init__(self, http: Client, service: str) -> None:
        self.http = http
        self.service = service

    def call(self, method: str, path: str, *, route: str, **kwargs: Any) -> requests.Response:
        try:
            response = self.http.request(method, path, route=route, **kwargs)
        except requests.Timeout as exc:
            raise UpstreamFailure(
                self.service,
                f"The {self.service} service timed out.",
                timeout=True,
                outcome_unknown=not _never_sent(exc),
            ) from exc
        except requests.RequestException as exc:
            raise UpstreamFailure(
                self.service, f"The {self.service} service could not be reached.", outcome_unknown=not _never_sent(exc)
            ) from exc
        if response.status_code >= 500:
            raise UpstreamFailure(self.service, f"The {self.service} service failed ({response.status_code}).")
        return response

    def unexpected(self, response: requests.Response) -> UpstreamFailure:
        code = _error(response)[0] or "no error code"
        return UpstreamFailure(
            self.service, f"The {self.service} service answered {response.status_code} ({code}) unexpectedly."
        )

    def body(self, response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise UpstreamFailure(self.service, f"The {self.service} service answered something that is not JSON.")
        return body


class ProductsClient(Inventory):
    """Stock reservations at the products service."""

    def __init__(self, http: Client) -> None:
        self.upstream = _Upstream(http, "products")

    def reserve(self, reservation_id: str, lines: Sequence[Line]) -> Reservation:
        payload = {
            "reservation_id": reservation_id,
            "items": [{"product_id": line.product_id, "quantity": line.quantity} for line in lines],
        }
        response = self.upstream.call("POST", "/reservations", route="/reservations", json=payload)
        if response.status_code in (200, 201):
            return self._reservation(self.upstream.body(response))
        code, message, details = _error(response)
        if response.status_code == 409 and code == "insufficient_stock":
            raise OutOfStock(message or "There is not enough stock for some items.", details=details)
        if response.status_code == 422:
            raise UnknownProduct(message or "Some products do not exist.", code=code or None, details=details)
        raise self.upstream.unexpected(response)

    def commit(self, reservation_id: str) -> None:
        response = self._transition(reservation_id, "commit")
        if response.status_code != 200:
            raise self.upstream.unexpected(response)

    def release(self, reservation_id: str) -> None:
        response = self._transition(reservation_id, "release")
        if response.status_code in (200, 404):  # 404: nothing was ever held
            return
        code = _error(response)[0]
        if response.status_code == 409 and code == "reservation_committed":
            raise ReservationCommitted(f"Reservation {reservation_id} is committed.")
        if response.status_code == 409 and code == "reservation_returned":
            return  # its stock was given back already
        raise self.upstream.unexpected(response)

    def return_stock(self, reservation_id: str) -> None:
        response = self._transition(reservation_id, "return")
        if response.status_code in (200, 404):
            return
        if response.status_code == 409 and _error(response)[0] == "reservation_released":
            return  # nothing is held
        raise self.upstream.unexpected(response)

    def _transition(self, reservation_id: str, action: str) -> requests.Response:
        path = f"/reservations/{quote(reservation_id, safe='')}/{action}"
        return self.upstream.call("POST", path, route=f"/reservations/{{id}}/{action}")

    def _reservation(self, body: dict[str, Any]) -> Reservation:
        try:
            items = tuple(
                ReservedItem(
                    product_id=_int(item["product_id"]),
                    name=str(item["name"]),
                    quantity=_int(item["quantity"]),
                    unit_price_cents=_int(item["unit_price_cents"]),
                )
                for item in body["items"]
            )
            return Reservation(str(body["reservation_id"]), items, str(body["currency"]))
        except (KeyError, TypeError, ValueError):
            raise UpstreamFailure("products", "The products service answered a malformed reservation.") from None


class PaymentsClient(Payments):
    """Charges and refunds at the payments service."""

    def __init__(self, http: Client) -> None:
        self.upstream = _Upstream(http, "payments")

    def charge(self, order_id: int, amount_cents: int, currency: str, card: Card) -> Payment:
        payload = {
            "order_id": order_id,
            "amount_cents": amount_cents,
            "currency": currency,
            "card": {"number": card.number, "expiry": card.expiry, "cvc": card.cvc},
        }
        response = self.upstream.call("POST", "/payments", route="/payments", json=payload)
        if response.status_code in (200, 201):
            payment = self._payment(self.upstream.body(response))
            if not payment.completed:
                raise UpstreamFailure("payments", f"The payments service answered a {payment.status} payment.")
            return payment
        code, message, details = _error(response)
        if response.status_code == 402:
            raise PaymentDeclined(message or "The card was declined.", code=code or None)
        if response.status_code == 422:
            raise InvalidCard(message or "The card is invalid.", code=code or None, details=details)
        raise self.upstream.unexpected(response)

    def refund(self, payment_id: int) -> None:
        response = self.upstream.call("POST", f"/payments/{payment_id}/refund", route="/payments/{id}/refund")
        if response.status_code != 200:
            raise self.upstream.unexpected(response)

    def find_for_order(self, order_id: int) -> Payment | None:
        response = self.upstream.call("GET", "/payments", route="/payments", params={"order_id": order_id})
        if response.status_code != 200:
            raise self.upstream.unexpected(response)
        items = self.upstream.body(response).get("items")
        if not isinstance(items, list):
            raise UpstreamFailure("payments", "The payments service answered a malformed list.")
        payments = [self._payment(item) for item in items]
        for payment in payments:  # at most one per order by contract; prefer the one that took money
            if payment.completed or payment.processing:
                return payment
        return payments[0] if payments else None

    def _payment(self, body: Any) -> Payment:
        try:
            return Payment(
                id=_int(body["id"]),
                order_id=_int(body["order_id"]),
                status=str(body["status"]),
                amount_cents=_int(body["amount_cents"]),
                currency=str(body["currency"]),
            )
        except (KeyError, TypeError, ValueError):
            raise UpstreamFailure("payments", "The payments service answered a malformed payment.") from None


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not an integer: {value!r}")
    return value
