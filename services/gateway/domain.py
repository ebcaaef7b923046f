"""The gateway's rules: what an upstream answer means, how failures map to statuses, the details aggregation.

Plain Python: no Flask, no HTTP library. ``clients.py`` does the HTTP and turns every upstream answer into a
:class:`Reply` with :func:`interpret`, or into a :class:`services.common.errors.UpstreamFailure` (the one place
failures become statuses is :data:`services.common.errors.FAILURES`, shared with orders); ``api.py`` returns
replies as they are. :class:`GatewayService` is what the handlers call.

Failure mapping (the body is always ``{"error": {"code", "message", "request_id", "details"}}`` and never
contains anything the upstream said, since that may be a stack trace or internal detail):

=====================================================  ======  ========================
what happened                                          status  code
=====================================================  ======  ========================
connection refused, DNS failure, connect timeout       503     ``upstream_unavailable``
no answer within the read timeout                      504     ``upstream_timeout``
the upstream answered 5xx                              502     ``upstream_error``
the answer is not JSON (or not valid), or is 1xx/3xx,  502     ``upstream_error``
or the connection broke mid-answer
=====================================================  ======  ========================

A connect timeout counts as *unavailable*, not as a timeout: the request never reached the upstream, so a
client may safely retry it, which is what 503 says; 504 means the upstream got the request and may have
acted on it. Upstream 2xx and 4xx answers pass through unchanged (status and JSON body).

Details aggregation (``GET /orders/{id}/details``): the order comes from orders with the caller's identity,
so a 4xx there (404 for someone else's order) is the answer as it is and payments is never asked. Then
payments is asked for the payment of the order's saga (its ``saga_id``, never its order id: an orders database
restored or reset alone hands out old order ids again, and payments may hold another order's charge under one).
If that fails in any way (down, slow, 5xx, a 4xx, an answer without an ``items`` list, or an order without a
``saga_id``) the order is still worth showing: the answer is 200 with ``"payments": null`` and
``"partial": true`` instead of an error. The order is the primary resource; its payments are decoration,
and a payments outage should not take order pages down with it. A complete answer has ``"partial": false``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from services.common.auth import Identity, bearer_token, require_admin, verify_token
from services.common.errors import Failure, InvalidInput, NotFound, UpstreamFailure
from services.common.validation import loads_strict

if TYPE_CHECKING:  # the HTTP clients implement the ports; the rules never call HTTP themselves
    from .clients import NotificationsClient, OrdersClient, PaymentsClient, ProductsClient, UsersClient

log = logging.getLogger("services.gateway")


@dataclass(frozen=True)
class Reply:
    """An upstream answer the gateway may return as it is: a 2xx or 4xx status and its decoded JSON body
    (``None`` for an empty body, which only a 204 may have)."""

    status: int
    body: Any
    #: Set on a last good answer served while its upstream is failing: how old it is (``Age``), and the
    #: answer is marked ``Warning: 110`` and ``X-Tienda-Stale: true``.
    stale_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def interpret(upstream: str, status: int, content_type: str, content: bytes) -> Reply:
    """What an upstream's answer means for the gateway's caller.

    Raises :class:`UpstreamFailure` for a 5xx, for a status other than 2xx/4xx, and for a body that is not
    JSON (a 204 may be empty).
    """
    if status >= 500:
        raise UpstreamFailure(upstream, Failure.SERVER_ERROR)
    if not (200 <= status < 300 or 400 <= status < 500):
        raise UpstreamFailure(upstream, Failure.BAD_RESPONSE)
    if status == 204 and not content:
        return Reply(status, None)
    if not _is_json_media_type(content_type):
        raise UpstreamFailure(upstream, Failure.BAD_RESPONSE)
    try:
        body = loads_strict(content)
    except ValueError:
        raise UpstreamFailure(upstream, Failure.BAD_RESPONSE) from None
    return Reply(status, body)


# --- the details aggregation ----------------------------------------------------------------------------


class Orders(ABC):
    """The part of the orders service the aggregation needs."""

    @abstractmethod
    def get(self, identity: Identity, order_id: int) -> Reply:
        """The caller's order ``order_id`` (4xx replies are returned, failures raised)."""


class Payments(ABC):
    """The part of the payments service the aggregation needs."""

    @abstractmethod
    def for_saga(self, identity: Identity, saga_id: str) -> Reply:
        """``{"items": [payment]}``: the payment of the saga ``saga_id`` (none or one)."""


@dataclass(frozen=True)
class Details:
    """The answer to ``GET /orders/{id}/details``; ``degraded_by`` names the upstream left out, if any."""

    reply: Reply
    degraded_by: str | None = None


def order_details(orders: Orders, payments: Payments, identity: Identity, order_id: int) -> Details:
    """The caller's order with its payments; see the module docstring for what happens when payments fails."""
    order = orders.get(identity, order_id)
    if not order.ok:
        return Details(order)
    if not isinstance(order.body, dict):
        raise UpstreamFailure("orders", Failure.BAD_RESPONSE)
    reason: str
    saga_id = order.body.get("saga_id")
    try:
        if not isinstance(saga_id, str) or not saga_id:
            reason = "no_saga_id"
        else:
            found = payments.for_saga(identity, saga_id)
            items = found.body.get("items") if found.ok and isinstance(found.body, dict) else None
            if isinstance(items, list):
                return Details(Reply(200, {"order": order.body, "payments": items, "partial": False}))
            reason = f"status_{found.status}" if not found.ok else "no_items_list"
    except UpstreamFailure as exc:
        reason = exc.kind.value
    log.warning(
        "order details degraded",
        extra={"event": "gateway.details_degraded", "upstream": "payments", "reason": reason, "order_id": order_id},
    )
    return Details(Reply(200, {"order": order.body, "payments": None, "partial": True}), degraded_by="payments")


# --- fault rules, for admins ---------------------------------------------------------------------------


class FaultRules(ABC):
    """One service's fault rules as its ``/admin/faults`` (:mod:`telemetry.faults`) shows and changes them.

    Every answer is the service's own: 200 ``{"service", "faults"}``, or 422 ``invalid_faults`` for rules it
    refuses (nothing changes). Where the service does not allow faults it raises :class:`FaultsDisabled`.
    """

    @abstractmethod
    def show(self) -> Reply: ...

    @abstractmethod
    def replace(self, rules: Any) -> Reply: ...

    @abstractmethod
    def clear(self) -> Reply: ...


class FaultsDisabled(NotFound, code="faults_disabled"):
    """The answer for a service without ``/admin/faults``: faults are not allowed there."""

    def __init__(self, service: str) -> None:
        super().__init__(f"Fault injection is off at {service} (TIENDA_ENV=production needs FAULTS_ENABLED=true).")
        self.service = service


class InvalidFaults(InvalidInput, code="invalid_faults"):
    """Fault rules the gateway's own ``telemetry.faults`` refuses, answered as a service's ``/admin/faults``
    answers them (422 ``invalid_faults`` naming the field)."""


class UnknownService(NotFound, code="unknown_service"):
    """``/admin/faults/{service}`` names a service whose fault rules the gateway does not reach."""


class GatewayEvents(ABC):
    """Told when an answer left out what an upstream failed to provide: the port
    :class:`services.gateway.metrics.GatewayMetrics` implements."""

    @abstractmethod
    def partial_response(self, upstream: str) -> None: ...


@dataclass(frozen=True)
class GatewayService:
    """The public API's use cases: who the caller is, the five services behind the gateway, the aggregation."""

    jwt_secret: str
    users: UsersClient
    products: ProductsClient
    orders: OrdersClient
    payments: PaymentsClient
    notifications: NotificationsClient
    events: GatewayEvents
    #: Service name -> its fault rules (``/api/v1/admin/faults/{service}``).
    faults: Mapping[str, FaultRules] = field(default_factory=dict)

    def identity(self, authorization: str | None) -> Identity:
        """The caller of a protected route, from its ``Authorization: Bearer`` header (401 otherwise)."""
        return verify_token(bearer_token(authorization), self.jwt_secret)

    def fault_rules(self, identity: Identity, service: str) -> FaultRules:
        """The fault rules of ``service`` for an admin: 403 ``admin_only`` for anyone else, whatever the service
        (so a caller who is not an admin learns nothing), then 404 ``unknown_service`` for a name not served."""
        require_admin(identity)
        rules = self.faults.get(service)
        if rules is None:
            raise UnknownService(f"No such service; faults are set on one of: {', '.join(self.faults)}.")
        return rules

    def order_details(self, identity: Identity, order_id: int) -> Reply:
        """The caller's order with its payments, counted as partial when payments is left out."""
        details = order_details(self.orders, self.payments, identity, order_id)
        if details.degraded_by is not None:
            self.events.partial_response(details.degraded_by)
        return details.reply
