"""The services the orders saga calls, behind the domain's ports, over :class:`telemetry.http.Client`.

Requests and answers are the callee's own contract models (``services.products.contract``,
``services.payments.contract``). Each method makes one call (a client span named after the route template,
propagation, client metrics) and turns the answer into a domain result or exception:

* products ``409 insufficient_stock`` → :class:`InsufficientStock` with the details, ``422`` →
  :class:`UnknownProduct`; ``409 reservation_committed`` on a release → :class:`ReservationCommitted`;
* payments ``402`` → :class:`PaymentDeclined` with the decline code, ``422`` → :class:`InvalidCard`;
* a 401 or 403 (orders' own token refused: a key or caller rule out of step) → :class:`UpstreamFailure`, like
* a transport error, a 5xx, or any answer outside the contract → :class:`UpstreamFailure`, classified and
  mapped to a status the one way every caller in the shop does (``services.common.errors``).

Requests are built without validation: the callee checks what it is sent and answers for it.

Every call here is keyed (reservations by reservation id, charges and voids by saga id) and products and payments
answer a repeat with the first outcome, so each carries ``Idempotency-Key`` (:func:`keyed`): the client's policy
(:mod:`telemetry.resilience`) may then retry it after a refused connection or a 502/503/504. A call without the
header is never repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, cast
from urllib.parse import quote

import requests
from pydantic import BaseModel, ValidationError

from services.common.auth import InternalTokens
from services.common.cards import Card, InvalidCard
from services.common.contract import IDEMPOTENCY_KEY_HEADER, Currency
from services.common.errors import Failure, PaymentDeclined, UpstreamFailure, upstream_failure
from services.payments.contract import CardIn, ChargeIn, PaymentOut, VoidIn
from services.products.contract import (
    INSUFFICIENT_STOCK,
    RESERVATION_COMMITTED,
    RESERVATION_RELEASED,
    RESERVATION_RETURNED,
    ReservationCreate,
    ReservationItemIn,
    ReservationOut,
)
from telemetry.http import Client

from .domain import (
    InsufficientStock,
    Inventory,
    Line,
    Payment,
    Payments,
    Reservation,
    ReservationCommitted,
    ReservedItem,
    UnknownProduct,
)

M = TypeVar("M", bound=BaseModel)


def keyed(action: str, key: str) -> dict[str, str]:
    """The ``Idempotency-Key`` header of ``action`` on the reservation or saga ``key``."""
    return {IDEMPOTENCY_KEY_HEADER: f"{action}:{key}"}


def _error(response: requests.Response) -> tuple[str, str, Any]:
    """``(code, message, details)`` of a JSON error answer; empty values when it is not one."""
    try:
        error = response.json()["error"]
        return str(error.get("code", "")), str(error.get("message", "")), error.get("details")
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", "", None


class _Upstream:
    """One upstream service: calls as orders itself (its internal token), and every answer it cannot use as
    :class:`UpstreamFailure`."""

    def __init__(self, http: Client, service: str, tokens: InternalTokens) -> None:
        self.http = http
        self.service = service
        self.tokens = tokens

    def call(self, method: str, path: str, *, route: str, **kwargs: Any) -> requests.Response:
        try:
            headers = {**self.tokens.headers(), **kwargs.pop("headers", {})}
            response = self.http.request(method, path, route=route, headers=headers, **kwargs)
        except requests.RequestException as exc:
            raise upstream_failure(self.service, exc) from exc
        if response.status_code >= 500:
            raise UpstreamFailure(
                self.service, Failure.SERVER_ERROR, f"The {self.service} service failed ({response.status_code})."
            )
        return response

    def unexpected(self, response: requests.Response) -> UpstreamFailure:
        code = _error(response)[0] or "no error code"
        return UpstreamFailure(
            self.service,
            Failure.BAD_RESPONSE,
            f"The {self.service} service answered {response.status_code} ({code}) unexpectedly.",
        )

    def parse(self, model: type[M], response: requests.Response) -> M:
        """The answer's body as ``model`` (strictly: ``"5"`` is not 5)."""
        try:
            return model.model_validate_json(response.content, strict=True)
        except ValidationError:
            raise UpstreamFailure(
                self.service, Failure.BAD_RESPONSE, f"The {self.service} service answered a malformed {model.__name__}."
            ) from None


class ProductsClient(Inventory):
    """Stock reservations at the products service."""

    def __init__(self, http: Client, tokens: InternalTokens) -> None:
        self.upstream = _Upstream(http, "products", tokens)

    def reserve(self, reservation_id: str, lines: Sequence[Line]) -> Reservation:
        wanted = [ReservationItemIn.model_construct(product_id=i.product_id, quantity=i.quantity) for i in lines]
        request = ReservationCreate.model_construct(reservation_id=reservation_id, items=wanted)
        response = self.upstream.call(
            "POST",
            "/reservations",
            route="/reservations",
            json=request.model_dump(),
            headers=keyed("reserve", reservation_id),
        )
        if response.status_code in (200, 201):
            held = self.upstream.parse(ReservationOut, response)
            items = tuple(ReservedItem(i.product_id, i.name, i.quantity, i.unit_price_cents) for i in held.items)
            return Reservation(held.reservation_id, items, held.currency)
        code, message, details = _error(response)
        if response.status_code == 409 and code == INSUFFICIENT_STOCK:
            raise InsufficientStock(message or "There is not enough stock for some items.", details=details)
        if response.status_code == 422:
            raise UnknownProduct(message or "Some products do not exist.", code=code or None, details=details)
        raise self.upstream.unexpected(response)

    def commit(self, reservation_id: str) -> None:
        response = self._transition(reservation_id, "commit")
        if response.status_code != 200:
            raise self.upstream.unexpected(response)

    def release(self, reservation_id: str) -> bool:
        response = self._transition(reservation_id, "release")
        code = _error(response)[0]
        if response.status_code == 409 and code == RESERVATION_COMMITTED:
            raise ReservationCommitted(f"Reservation {reservation_id} is committed.")
        # 404: nothing was ever held; 409 reservation_returned: its stock was given back already. A release of a
        # reservation that never arrived answers 200 with no items (a tombstone): nothing was given back.
        if response.status_code == 200:
            return _has_items(response)
        return self._gave_back(response, nothing_held=RESERVATION_RETURNED)

    def return_stock(self, reservation_id: str) -> bool:
        # 404: never reserved; 409 reservation_released: the stock went back when it was released.
        return self._gave_back(self._transition(reservation_id, "return"), nothing_held=RESERVATION_RELEASED)

    def _gave_back(self, response: requests.Response, *, nothing_held: str) -> bool:
        if response.status_code == 200:
            return True
        if response.status_code == 404 or (response.status_code == 409 and _error(response)[0] == nothing_held):
            return False
        raise self.upstream.unexpected(response)

    def _transition(self, reservation_id: str, action: str) -> requests.Response:
        path = f"/reservations/{quote(reservation_id, safe='')}/{action}"
        return self.upstream.call(
            "POST", path, route=f"/reservations/{{id}}/{action}", headers=keyed(action, reservation_id)
        )


class PaymentsClient(Payments):
    """Charges and refunds at the payments service."""

    def __init__(self, http: Client, tokens: InternalTokens) -> None:
        self.upstream = _Upstream(http, "payments", tokens)

    def charge(self, saga_id: str, order_id: int, amount_cents: int, currency: str, card: Card) -> Payment:
        request = ChargeIn.model_construct(
            saga_id=saga_id,
            order_id=order_id,
            amount_cents=amount_cents,
            currency=cast(Currency, currency),  # the currency products priced in; payments checks it
            card=CardIn.model_construct(number=card.number, expiry=card.expiry, cvc=card.cvc),
        )
        response = self.upstream.call(
            "POST", "/payments", route="/payments", json=request.model_dump(), headers=keyed("charge", saga_id)
        )
        if response.status_code in (200, 201):
            payment = _payment(self.upstream.parse(PaymentOut, response))
            if not payment.completed:
                raise UpstreamFailure(
                    "payments", Failure.BAD_RESPONSE, f"The payments service answered a {payment.status} payment."
                )
            return payment
        code, message, details = _error(response)
        if response.status_code == 402:
            raise PaymentDeclined(message or "The card was declined.", code=code or None)
        if response.status_code == 422:
            raise InvalidCard(message or "The card is invalid.", code=code or None, details=details)
        raise self.upstream.unexpected(response)

    def void(self, saga_id: str) -> Payment:
        request = VoidIn.model_construct(saga_id=saga_id)
        response = self.upstream.call(
            "POST", "/payments/void", route="/payments/void", json=request.model_dump(), headers=keyed("void", saga_id)
        )
        if response.status_code not in (200, 202):  # 202: still at the provider, refunded when it settles
            raise self.upstream.unexpected(response)
        return _payment(self.upstream.parse(PaymentOut, response))


def _has_items(response: requests.Response) -> bool:
    """Whether a reservation answer lists items (a tombstone has none)."""
    try:
        return bool(response.json().get("items"))
    except (ValueError, AttributeError):
        return False


def _payment(answer: PaymentOut) -> Payment:
    return Payment(answer.id, answer.order_id, answer.status, answer.amount_cents, answer.currency)
