"""Typed wrappers over :class:`telemetry.http.Client` for the five services behind the gateway.

Every call goes through :meth:`Upstream.call`, which names the route template (span names and client metrics
stay low-cardinality), sends the caller's identity as ``X-User-Id`` / ``X-User-Role`` when there is one,
never follows redirects, and turns the outcome into a :class:`~services.gateway.domain.Reply` or raises
:class:`~services.common.errors.UpstreamFailure` (see :mod:`services.gateway.domain` for the mapping).
Trace context and ``X-Request-ID`` are added by the telemetry client itself.

Headers are built here from scratch; nothing the public caller sent is copied, so a caller can never set
``X-User-Id`` or ``X-User-Role`` for itself.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import requests

from services.common.auth import Identity
from services.common.contract import IDEMPOTENCY_KEY_HEADER
from services.common.errors import Failure, InvalidInput, UpstreamFailure, classify, upstream_failure
from services.orders.contract import checkout_worst_case_seconds
from telemetry import deadline
from telemetry.faults import ADMIN_PATH, Faults, FaultSpecError, FaultsRefused, parse_rules
from telemetry.http import Client

from .contract import API_PREFIX
from .domain import FaultRules, Orders, Payments, Reply, faults_disabled, interpret

log = logging.getLogger("services.gateway")


class Upstream:
    """One service behind the gateway, called through its instrumented client."""

    def __init__(self, name: str, http: Client) -> None:
        self.name = name
        self.http = http

    def call(
        self,
        method: str,
        path: str,
        *,
        route: str,
        identity: Identity | None = None,
        body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        outgoing = dict(headers or {})
        if identity is not None:
            outgoing.update(identity.headers())
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            outgoing["Content-Type"] = "application/json"
        try:
            response = self.http.request(
                method, path, route=route, headers=outgoing, data=data, params=params, allow_redirects=False
            )
        except requests.RequestException as exc:
            failure = upstream_failure(self.name, exc)
            self._log_failure(method, route, failure, error_type=type(exc).__name__)
            raise failure from None
        content_type = response.headers.get("Content-Type", "")
        try:
            return interpret(self.name, response.status_code, content_type, response.content)
        except UpstreamFailure as failure:
            self._log_failure(method, route, failure, upstream_status=response.status_code)
            raise

    def _log_failure(self, method: str, route: str, failure: UpstreamFailure, **fields: Any) -> None:
        log.warning(
            "upstream call failed",
            extra={
                "event": "gateway.upstream_failed",
                "upstream": self.name,
                "failure": failure.kind.value,
                "http_request_method": method,
                "upstream_route": route,
                **fields,
            },
        )

    def close(self) -> None:
        self.http.close()


class UsersClient(Upstream):
    def register(self, body: dict[str, Any]) -> Reply:
        return self.call("POST", "/users", route="/users", body=body)

    def issue_token(self, body: dict[str, Any]) -> Reply:
        return self.call("POST", "/auth/token", route="/auth/token", body=body)

    def me(self, identity: Identity) -> Reply:
        return self.call("GET", "/users/me", route="/users/me", identity=identity)


class ProductsClient(Upstream):
    def list(self, limit: int, offset: int) -> Reply:
        return self.call("GET", "/products", route="/products", params={"limit": limit, "offset": offset})

    def get(self, product_id: int) -> Reply:
        return self.call("GET", f"/products/{product_id}", route="/products/{id}")

    def create(self, identity: Identity, body: dict[str, Any]) -> Reply:
        return self.call("POST", "/products", route="/products", identity=identity, body=body)

    def update(self, identity: Identity, product_id: int, body: dict[str, Any]) -> Reply:
        return self.call("PUT", f"/products/{product_id}", route="/products/{id}", identity=identity, body=body)

    def delete(self, identity: Identity, product_id: int) -> Reply:
        return self.call("DELETE", f"/products/{product_id}", route="/products/{id}", identity=identity)

    def restock(self, identity: Identity, product_id: int, body: dict[str, Any]) -> Reply:
        path = f"/products/{product_id}/restock"
        return self.call("POST", path, route="/products/{id}/restock", identity=identity, body=body)


class OrdersClient(Upstream, Orders):
    """``create`` runs within ``order_budget_seconds`` (or the caller's shorter budget): orders receives what is
    left as ``X-Request-Budget-Ms`` and never confirms an order once it has run out, so a 504 here means the
    order will not confirm (see :mod:`services.orders.domain.checkout`)."""

    def __init__(self, name: str, http: Client, *, order_budget_seconds: float = checkout_worst_case_seconds()):
        super().__init__(name, http)
        self.order_budget_seconds = order_budget_seconds

    def create(self, identity: Identity, body: dict[str, Any], idempotency_key: str | None) -> Reply:
        headers = {IDEMPOTENCY_KEY_HEADER: idempotency_key} if idempotency_key is not None else None
        with deadline.budget(self.order_budget_seconds):
            return self.call("POST", "/orders", route="/orders", identity=identity, body=body, headers=headers)

    def list(self, identity: Identity, limit: int, offset: int) -> Reply:
        params = {"limit": limit, "offset": offset}
        return self.call("GET", "/orders", route="/orders", identity=identity, params=params)

    def get(self, identity: Identity, order_id: int) -> Reply:
        return self.call("GET", f"/orders/{order_id}", route="/orders/{id}", identity=identity)

    def cancel(self, identity: Identity, order_id: int) -> Reply:
        return self.call("POST", f"/orders/{order_id}/cancel", route="/orders/{id}/cancel", identity=identity)


class PaymentsClient(Upstream, Payments):
    def for_saga(self, identity: Identity, saga_id: str) -> Reply:
        return self.call("GET", "/payments", route="/payments", identity=identity, params={"saga_id": saga_id})


class NotificationsClient(Upstream):
    def list(self, identity: Identity, user_id: int | None, limit: int, offset: int) -> Reply:
        params = {"limit": limit, "offset": offset, **({"user_id": user_id} if user_id is not None else {})}
        return self.call("GET", "/notifications", route="/notifications", identity=identity, params=params)


class RemoteFaultRules(FaultRules):
    """A service's ``/admin/faults`` through its client; its answers pass through (a 422 names the bad field).

    A 404 means the service registered no ``/admin/faults``: it does not allow faults.
    """

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    def _call(self, method: str, body: Any = None) -> Reply:
        reply = self.upstream.call(method, ADMIN_PATH, route=ADMIN_PATH, body=body)
        if reply.status == 404:
            raise faults_disabled(self.upstream.name)
        return reply

    def show(self) -> Reply:
        return self._call("GET")

    def replace(self, rules: Any) -> Reply:
        return self._call("PUT", rules)

    def clear(self) -> Reply:
        return self._call("DELETE")


#: Targets of the admin route itself: faulting it would lock the admins out of the gateway's rules.
ADMIN_ROUTE_TARGETS = tuple(f"{method} {API_PREFIX}/admin/faults/" for method in ("GET", "PUT", "DELETE"))


class LocalFaultRules(FaultRules):
    """The gateway's own rules, changed in-process: its public port serves no unauthenticated ``/admin/faults``
    (``app.py``), so this route is the only way to them. Same answers as a service's endpoint."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults

    def show(self) -> Reply:
        if not self.faults.allowed:
            raise faults_disabled(self.faults.service)
        return Reply(200, {"service": self.faults.service, "faults": [rule.to_dict() for rule in self.faults.list()]})

    def replace(self, rules: Any) -> Reply:
        try:
            parsed = parse_rules(rules)
            for index, rule in enumerate(parsed):
                if rule.target.startswith(ADMIN_ROUTE_TARGETS):
                    raise FaultSpecError(f"faults[{index}].target {rule.target!r}: the admin route cannot be faulted")
            self.faults.set(parsed)
        except FaultSpecError as exc:
            raise InvalidInput(str(exc), code="invalid_faults") from None
        except FaultsRefused:
            raise faults_disabled(self.faults.service) from None
        return self.show()

    def clear(self) -> Reply:
        if self.faults.allowed:
            self.faults.clear()
        return self.show()


class UpstreamDown(Exception):
    """A readiness probe failed; the message is what ``/health/ready`` shows."""


class LivenessProbe:
    """Readiness check of one upstream: ``GET <base>/health/live`` must answer 200.

    It uses its own plain ``requests`` session with short timeouts rather than the telemetry client, because
    probes are not traffic: through the client every probe (every few seconds, from every orchestrator)
    would be a root CLIENT span in the traces and a sample in ``http_client_request_duration_seconds``,
    skewing the upstream latency the dashboards show. The failure messages name the upstream and what
    happened, never the URL or the exception text.
    """

    def __init__(self, name: str, base_url: str, timeout_seconds: float = 0.5) -> None:
        self.name = name
        self.url = base_url.rstrip("/") + "/health/live"
        self.timeout = (timeout_seconds, timeout_seconds)
        self.session = requests.Session()

    def __call__(self) -> None:
        try:
            response = self.session.get(self.url, timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            timed_out = classify(exc) is Failure.TIMEOUT
            raise UpstreamDown(
                f"{self.name} did not answer in time" if timed_out else f"{self.name} is unreachable"
            ) from None
        if response.status_code != 200:
            raise UpstreamDown(f"{self.name} answered {response.status_code}")

    def close(self) -> None:
        self.session.close()
