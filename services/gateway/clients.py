"""Typed wrappers over :class:`telemetry.http.Client` for the five services behind the gateway.

Every call goes through :meth:`Upstream.call`, which names the route template (span names and client metrics
stay low-cardinality), sends an internal token (:class:`~services.common.auth.InternalTokens`) that names the
caller's identity when there is one and the gateway itself otherwise, never follows redirects, and turns the
outcome into a :class:`~services.gateway.domain.Reply` or raises :class:`~services.common.errors.UpstreamFailure`
(see :mod:`services.gateway.domain` for the mapping).
Trace context and ``X-Request-ID`` are added by the telemetry client itself.

Headers are built here from scratch; nothing the public caller sent is copied (its ``Authorization`` least of
all), so a caller can never name an identity for itself.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from time import monotonic
from typing import TYPE_CHECKING, Any

import grpc
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.auth import Identity, InternalTokens
from services.common.contract import IDEMPOTENCY_KEY_HEADER
from services.common.errors import Failure, UpstreamFailure, classify, upstream_failure
from services.orders.contract import checkout_worst_case_seconds
from services.products.grpc_contract import ERROR_CODE_KEY, METHODS
from services.products.grpc_contract import pb as products_pb
from services.products.grpc_contract import pb_grpc as products_grpc
from telemetry import deadline, requestid
from telemetry.faults import ADMIN_PATH, Faults, FaultSpecError, FaultsRefused, parse_rules
from telemetry.grpc import ClientInterceptor, RpcMetrics
from telemetry.http import Client
from telemetry.resilience import Policy, retry_after_seconds

from .contract import API_PREFIX
from .domain import FaultRules, FaultsDisabled, InvalidFaults, Orders, Payments, Reply, interpret

if TYPE_CHECKING:
    from telemetry import Telemetry

log = logging.getLogger("services.gateway")
#: The ``upstream`` label of the gRPC catalog client's breaker and bulkhead series.
PRODUCTS_GRPC_UPSTREAM = "products_grpc"


class Upstream:
    """One service behind the gateway, called through its instrumented client."""

    def __init__(self, name: str, http: Client, tokens: InternalTokens) -> None:
        self.name = name
        self.http = http
        self.tokens = tokens

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
        outgoing.update(self.tokens.headers(identity))
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
        if response.status_code == 503:
            failure = self._unavailable(response)
            self._log_failure(method, route, failure, upstream_status=503)
            raise failure
        content_type = response.headers.get("Content-Type", "")
        try:
            return interpret(self.name, response.status_code, content_type, response.content)
        except UpstreamFailure as failure:
            self._log_failure(method, route, failure, upstream_status=response.status_code)
            raise

    def _unavailable(self, response: requests.Response) -> UpstreamFailure:
        """A 503 passed on as one: the service it names (orders names payments when payments is down, or its
        breaker to it is open), and its ``Retry-After``, so the caller learns when to try again."""
        named: object = None
        with contextlib.suppress(ValueError, KeyError, TypeError):
            named = response.json()["error"]["details"]["upstream"]
        upstream = named if isinstance(named, str) and named in UPSTREAM_NAMES else self.name
        return UpstreamFailure(upstream, Failure.UNREACHABLE, retry_after_seconds=retry_after_seconds(response))

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


#: The services behind the gateway, the only names a passed-on 503 may blame.
UPSTREAM_NAMES = frozenset({"users", "products", "orders", "payments", "notifications"})


class LastGood:
    """The last good answer of each of the ``max_entries`` reads asked most recently (least recently used
    first out), served marked stale while the upstream fails. Bounded in entries: a product page is at most 100
    products, so the gateway holds a few megabytes at most. A 404 forgets its read."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._answers: OrderedDict[Hashable, tuple[float, Reply]] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, key: Hashable, fetch: Callable[[], Reply], on_stale: Callable[[], None]) -> Reply:
        """``fetch()``'s answer, remembered when it is a 200; its last good answer, marked stale, when it raises
        :class:`UpstreamFailure` (which is raised again when there is none)."""
        try:
            reply = fetch()
        except UpstreamFailure:
            with self._lock:
                found = self._answers.get(key)
            if found is None:
                raise
            at, good = found
            on_stale()
            return Reply(good.status, good.body, stale_seconds=monotonic() - at)
        with self._lock:
            if reply.status == 200:
                self._answers[key] = (monotonic(), reply)
                self._answers.move_to_end(key)
                while len(self._answers) > self.max_entries:
                    self._answers.popitem(last=False)
            elif reply.status == 404:
                self._answers.pop(key, None)
        return reply

    def __len__(self) -> int:
        return len(self._answers)


class UsersClient(Upstream):
    def register(self, body: dict[str, Any]) -> Reply:
        return self.call("POST", "/users", route="/users", body=body)

    def issue_token(self, body: dict[str, Any]) -> Reply:
        return self.call("POST", "/auth/token", route="/auth/token", body=body)

    def me(self, identity: Identity) -> Reply:
        return self.call("GET", "/users/me", route="/users/me", identity=identity)


class ProductsClient(Upstream):
    """Product reads degrade instead of failing: while products fails, the gateway answers the last good answer
    it had for the same read, marked stale (:class:`LastGood`); ``on_stale(route)`` counts each one."""

    def __init__(
        self,
        name: str,
        http: Client,
        tokens: InternalTokens,
        *,
        last_good: LastGood | None = None,
        on_stale: Callable[[str], None] = lambda route: None,
    ) -> None:
        super().__init__(name, http, tokens)
        self.last_good = LastGood() if last_good is None else last_good
        self.on_stale = on_stale

    def list(self, limit: int, offset: int) -> Reply:
        return self.last_good.read(
            ("/products", limit, offset), lambda: self.read_page(limit, offset), lambda: self.on_stale("/products")
        )

    def get(self, product_id: int) -> Reply:
        return self.last_good.read(
            ("/products/{id}", product_id),
            lambda: self.read_product(product_id),
            lambda: self.on_stale("/products/{id}"),
        )

    def read_page(self, limit: int, offset: int) -> Reply:
        """One page of the catalog, asked of products (no stale answer)."""
        return self.call("GET", "/products", route="/products", params={"limit": limit, "offset": offset})

    def read_product(self, product_id: int) -> Reply:
        """One product, asked of products (no stale answer)."""
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


class RpcUnavailable(requests.ConnectionError):
    """products' gRPC server answered ``UNAVAILABLE`` (or could not be reached)."""


@dataclass(frozen=True)
class RpcAnswer:
    """A gRPC call's outcome as :class:`telemetry.resilience.Policy` reads answers: ``status_code`` is the HTTP
    status its gRPC status stands for (:data:`HTTP_STATUS_OF`), so a 5xx fails the breaker and a 4xx does not."""

    status_code: int
    message: Any = None
    code: grpc.StatusCode = grpc.StatusCode.OK
    details: str = ""
    error_code: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


#: gRPC status -> the HTTP status the gateway answers with (any other, ``INTERNAL`` and ``UNKNOWN`` among them,
#: is an upstream error, 502). ``UNAVAILABLE`` and ``DEADLINE_EXCEEDED`` are transport failures, as for HTTP.
HTTP_STATUS_OF: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 422,
    grpc.StatusCode.OUT_OF_RANGE: 422,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
}


def _product(message: Any) -> dict[str, Any]:
    """A ``tienda.products.v1.Product`` as the HTTP API's :class:`~services.products.contract.ProductOut`."""
    plain = {name: getattr(message, name) for name in ("id", "sku", "name", "description", "stock")}
    return plain | {"price_cents": message.price.cents, "currency": message.price.currency}


class GrpcProductsClient(ProductsClient):
    """products' catalog reads (``list``, ``get``, stale from :class:`LastGood` while products fails) over gRPC;
    its writes stay on HTTP (``http``).

    Each call goes through ``policy`` (the same breaker, bulkhead and retries as the HTTP clients) and the
    telemetry interceptor (span, ``rpc_client_duration_seconds``, trace context and request ID in the metadata,
    the request's remaining budget as the gRPC timeout). The answers are the HTTP API's: the same bodies, the
    same statuses, the same JSON errors (the domain's code comes back as ``tienda-error-code``), the same
    failures (:data:`services.common.errors.FAILURES`).
    """

    def __init__(
        self,
        name: str,
        http: Client,
        tokens: InternalTokens,
        *,
        target: str,
        tel: Telemetry,
        policy: Policy,
        timeout_seconds: float,
        on_stale: Callable[[str], None] = lambda route: None,
    ) -> None:
        super().__init__(name, http, tokens, on_stale=on_stale)
        metrics = RpcMetrics(tel.metrics.registry, METHODS)
        self.channel = grpc.intercept_channel(grpc.insecure_channel(target), ClientInterceptor(tel.tracer, metrics))
        self.stub = products_grpc.ProductServiceStub(self.channel)  # type: ignore[no-untyped-call]
        self.policy = policy
        self.timeout_seconds = timeout_seconds

    def read_page(self, limit: int, offset: int) -> Reply:
        request = products_pb.ListProductsRequest(limit=limit, offset=offset)
        answer = self._rpc("ListProducts", self.stub.ListProducts, request)
        if answer.message is None:
            return self._error(answer)
        page = answer.message
        return Reply(200, {"items": [_product(p) for p in page.items], "total": page.total, "limit": page.limit,
                           "offset": page.offset})  # fmt: skip

    def read_product(self, product_id: int) -> Reply:
        answer = self._rpc("GetProduct", self.stub.GetProduct, products_pb.GetProductRequest(id=product_id))
        return Reply(200, _product(answer.message)) if answer.message is not None else self._error(answer)

    def _rpc(self, method: str, stub_method: Callable[..., Any], request: Any) -> RpcAnswer:
        def send(_attempt: int) -> RpcAnswer:
            try:
                return RpcAnswer(200, stub_method(request, timeout=self.timeout_seconds))
            except grpc.RpcError as exc:
                return self._failed(exc)

        try:
            answer = self.policy.call("GET", {}, send)
        except requests.RequestException as exc:
            failure = (
                UpstreamFailure(self.name, Failure.UNREACHABLE)
                if isinstance(exc, RpcUnavailable)
                else upstream_failure(self.name, exc)
            )
            self._log_failure("GRPC", method, failure, error_type=type(exc).__name__)
            raise failure from None
        if answer.status_code >= 500:
            failure = UpstreamFailure(self.name, Failure.SERVER_ERROR)
            self._log_failure("GRPC", method, failure, grpc_status=answer.code.name)
            raise failure
        return answer

    def _failed(self, exc: grpc.RpcError) -> RpcAnswer:
        code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
        if code is grpc.StatusCode.UNAVAILABLE:
            raise RpcUnavailable(f"{self.name} is unavailable over gRPC") from exc
        if code is grpc.StatusCode.DEADLINE_EXCEEDED:
            if deadline.spent():
                raise deadline.DeadlineExceeded(f"the budget ran out calling {self.name}", sent=True) from exc
            raise requests.Timeout(f"{self.name} did not answer within {self.timeout_seconds} s") from exc
        trailing: dict[str, str | bytes] = dict(exc.trailing_metadata() or ()) if isinstance(exc, grpc.Call) else {}
        error_code = trailing.get(ERROR_CODE_KEY)
        details = exc.details() if isinstance(exc, grpc.Call) else ""
        return RpcAnswer(
            HTTP_STATUS_OF.get(code, 500),
            code=code,
            details=details or "",
            error_code=error_code if isinstance(error_code, str) else None,
        )

    @staticmethod
    def _error(answer: RpcAnswer) -> Reply:
        """A 4xx answer's JSON error, as products' HTTP API writes it."""
        code = answer.error_code or answer.code.name.lower()
        error = {"code": code, "message": answer.details, "request_id": requestid.current()}
        return Reply(answer.status_code, {"error": error})

    def close(self) -> None:
        self.channel.close()
        super().close()


class OrdersClient(Upstream, Orders):
    """``create`` runs within ``order_budget_seconds`` (or the caller's shorter budget): orders receives what is
    left as ``X-Request-Budget-Ms`` and never confirms an order once it has run out, so a 504 here means the
    order will not confirm (see :mod:`services.orders.domain.checkout`)."""

    def __init__(
        self,
        name: str,
        http: Client,
        tokens: InternalTokens,
        *,
        order_budget_seconds: float = checkout_worst_case_seconds(),
    ) -> None:
        super().__init__(name, http, tokens)
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
            raise FaultsDisabled(self.upstream.name)
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
            raise FaultsDisabled(self.faults.service)
        return Reply(200, {"service": self.faults.service, "faults": [rule.to_dict() for rule in self.faults.list()]})

    def replace(self, rules: Any) -> Reply:
        try:
            parsed = parse_rules(rules)
            for index, rule in enumerate(parsed):
                if rule.target.startswith(ADMIN_ROUTE_TARGETS):
                    raise FaultSpecError(f"faults[{index}].target {rule.target!r}: the admin route cannot be faulted")
            self.faults.set(parsed)
        except FaultSpecError as exc:
            raise InvalidFaults(str(exc)) from None
        except FaultsRefused:
            raise FaultsDisabled(self.faults.service) from None
        return self.show()

    def clear(self) -> Reply:
        if self.faults.allowed:
            self.faults.clear()
        return self.show()


class GrpcHealthProbe:
    """Readiness check of products' gRPC server: ``grpc.health.v1.Health/Check`` of its catalog must say SERVING.

    Its own plain channel, not the instrumented one, for the reason :class:`LivenessProbe` gives.
    """

    def __init__(self, name: str, target: str, service: str, timeout_seconds: float = 0.5) -> None:
        self.name = name
        self.channel = grpc.insecure_channel(target)
        # Any: the stubs of grpcio-health-checking declare HealthStub without its methods.
        self.stub: Any = health_pb2_grpc.HealthStub(self.channel)
        self.request = health_pb2.HealthCheckRequest(service=service)
        self.timeout_seconds = timeout_seconds

    def __call__(self) -> None:
        try:
            answer = self.stub.Check(self.request, timeout=self.timeout_seconds)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            timed_out = code is grpc.StatusCode.DEADLINE_EXCEEDED
            raise UpstreamDown(
                f"{self.name} did not answer in time" if timed_out else f"{self.name} is unreachable"
            ) from None
        if answer.status != health_pb2.HealthCheckResponse.SERVING:
            raise UpstreamDown(f"{self.name} is not serving")

    def close(self) -> None:
        self.channel.close()


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
