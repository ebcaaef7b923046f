"""The upstream wrappers without a network: error classification, what is sent, what comes back."""

from __future__ import annotations

import socket
from http.client import RemoteDisconnected

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError, ReadTimeoutError

from services.common.auth import Caller, Identity, InternalTokens
from services.common.errors import Failure, UpstreamFailure, classify
from services.gateway.clients import (
    LastGood,
    LivenessProbe,
    OrdersClient,
    PaymentsClient,
    ProductsClient,
    UpstreamDown,
    UsersClient,
)
from services.gateway.domain import Reply
from telemetry import deadline


def _refused() -> requests.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.ConnectionError(MaxRetryError(None, "/orders", reason))


def _dns_failure() -> requests.ConnectionError:
    reason = NameResolutionError("orders.internal", None, socket.gaierror(-2, "Name or service not known"))
    return requests.ConnectionError(MaxRetryError(None, "/orders", reason))


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (_refused(), Failure.UNREACHABLE),
        (_dns_failure(), Failure.UNREACHABLE),
        (requests.ConnectTimeout("connect timed out"), Failure.UNREACHABLE),
        (requests.ReadTimeout("read timed out"), Failure.TIMEOUT),
        (requests.ConnectionError(ReadTimeoutError(None, "/orders", "Read timed out.")), Failure.TIMEOUT),
        (requests.ConnectionError(ProtocolError("Connection aborted.", RemoteDisconnected())), Failure.BAD_RESPONSE),
        (requests.exceptions.ChunkedEncodingError("incomplete read"), Failure.BAD_RESPONSE),
        (requests.exceptions.ContentDecodingError("bad gzip"), Failure.BAD_RESPONSE),
        (requests.ConnectionError(), Failure.BAD_RESPONSE),
    ],
    ids=["refused", "dns", "connect-timeout", "read-timeout", "timeout-mid-body", "aborted", "chunked",
         "decoding", "bare"],
)  # fmt: skip
def test_transport_errors_are_classified_by_whether_the_request_reached_the_upstream(exc, kind):
    assert classify(exc) is kind


class StubHttp:
    """Stands in for telemetry.http.Client: records each request, answers or raises what it was given."""

    def __init__(self, status: int = 200, body: bytes = b"{}", content_type: str = "application/json", exc=None):
        self.status, self.body, self.content_type, self.exc = status, body, content_type, exc
        self.requests: list[dict] = []

    def request(self, method, path, **kwargs):
        self.requests.append({"method": method, "path": path, **kwargs})
        if self.exc is not None:
            raise self.exc
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body
        response.headers["Content-Type"] = self.content_type
        return response


ALICE = Identity(7, "user")
ADMIN = Identity(1, "admin")
KEY = "unit-tests-internal-key-" + "g" * 24
TOKENS = InternalTokens(KEY, "gateway")


def caller(headers: dict) -> Caller:
    scheme, _, token = headers["Authorization"].partition(" ")
    assert scheme == "Bearer"
    return InternalTokens(KEY, "products").verify(token)


def test_a_call_sends_the_identity_in_an_internal_token_and_the_body_as_json_and_never_follows_redirects():
    http = StubHttp(201, b'{"id": 3}')

    reply = ProductsClient("products", http, TOKENS).create(ADMIN, {"sku": "A-1", "price_cents": 100})

    assert reply == Reply(201, {"id": 3})
    (sent,) = http.requests
    assert (sent["method"], sent["path"], sent["route"]) == ("POST", "/products", "/products")
    assert set(sent["headers"]) == {"Authorization", "Content-Type"}
    assert sent["headers"]["Content-Type"] == "application/json"
    assert caller(sent["headers"]) == Caller("gateway", ADMIN)
    assert sent["data"] == b'{"sku":"A-1","price_cents":100}'
    assert sent["allow_redirects"] is False


def test_a_public_call_sends_the_gateway_as_itself_and_no_body():
    http = StubHttp()

    ProductsClient("products", http, TOKENS).get(3)

    (sent,) = http.requests
    assert (sent["path"], sent["route"], set(sent["headers"]), sent["data"]) == (
        "/products/3", "/products/{id}", {"Authorization"}, None,
    )  # fmt: skip
    assert caller(sent["headers"]) == Caller("gateway")


@pytest.mark.parametrize(
    ("call", "method", "path", "route"),
    [
        (lambda c: UsersClient("users", c, TOKENS).register({}), "POST", "/users", "/users"),
        (lambda c: UsersClient("users", c, TOKENS).issue_token({}), "POST", "/auth/token", "/auth/token"),
        (lambda c: UsersClient("users", c, TOKENS).me(ALICE), "GET", "/users/me", "/users/me"),
        (lambda c: ProductsClient("products", c, TOKENS).list(20, 0), "GET", "/products", "/products"),
        (lambda c: ProductsClient("products", c, TOKENS).update(ADMIN, 3, {}), "PUT", "/products/3", "/products/{id}"),
        (lambda c: ProductsClient("products", c, TOKENS).delete(ADMIN, 3), "DELETE", "/products/3", "/products/{id}"),
        (lambda c: ProductsClient("products", c, TOKENS).restock(ADMIN, 3, {}), "POST", "/products/3/restock",
         "/products/{id}/restock"),
        (lambda c: OrdersClient("orders", c, TOKENS).create(ALICE, {}, None), "POST", "/orders", "/orders"),
        (lambda c: OrdersClient("orders", c, TOKENS).list(ALICE, 20, 0), "GET", "/orders", "/orders"),
        (lambda c: OrdersClient("orders", c, TOKENS).get(ALICE, 5), "GET", "/orders/5", "/orders/{id}"),
        (lambda c: OrdersClient("orders", c, TOKENS).cancel(ALICE, 5), "POST", "/orders/5/cancel",
         "/orders/{id}/cancel"),
        (lambda c: PaymentsClient("payments", c, TOKENS).for_saga(ALICE, "ab" * 16), "GET", "/payments", "/payments"),
    ],
)  # fmt: skip
def test_every_call_names_its_route_template(call, method, path, route):
    http = StubHttp()

    call(http)

    (sent,) = http.requests
    assert (sent["method"], sent["path"], sent["route"]) == (method, path, route)


def test_an_order_carries_its_idempotency_key():
    http = StubHttp(201)

    OrdersClient("orders", http, TOKENS).create(ALICE, {"items": []}, "key-1")

    assert http.requests[0]["headers"]["Idempotency-Key"] == "key-1"


def test_the_payment_of_an_orders_saga_is_asked_by_query():
    http = StubHttp(body=b'{"items": []}')

    PaymentsClient("payments", http, TOKENS).for_saga(ALICE, "ab" * 16)

    assert http.requests[0]["params"] == {"saga_id": "ab" * 16}


class BudgetRecordingHttp(StubHttp):
    """Records the deadline budget left when each call is made."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.budgets = []

    def request(self, method, path, **kwargs):
        self.budgets.append(deadline.remaining_seconds())
        return super().request(method, path, **kwargs)


def test_placing_an_order_runs_within_the_order_budget_and_nothing_else_does():
    http = BudgetRecordingHttp(201)
    orders = OrdersClient("orders", http, TOKENS, order_budget_seconds=7)

    orders.create(ALICE, {"items": []}, None)
    orders.cancel(ALICE, 5)
    with deadline.budget(3):  # a caller asking for less gets less
        orders.create(ALICE, {"items": []}, None)

    first, cancel, shorter = http.budgets
    assert 6 < first <= 7 and cancel is None and 2 < shorter <= 3


def test_a_transport_error_becomes_an_upstream_failure_naming_the_upstream():
    http = StubHttp(exc=requests.ReadTimeout("read timed out"))

    with pytest.raises(UpstreamFailure) as caught:
        OrdersClient("orders", http, TOKENS).get(ALICE, 5)

    assert (caught.value.upstream, caught.value.kind, caught.value.status) == ("orders", Failure.TIMEOUT, 504)


def test_a_5xx_answer_becomes_an_upstream_failure():
    http = StubHttp(500, b'{"error": {}}')

    with pytest.raises(UpstreamFailure) as caught:
        UsersClient("users", http, TOKENS).me(ALICE)

    assert (caught.value.upstream, caught.value.kind) == ("users", Failure.SERVER_ERROR)


class StubSession:
    def __init__(self, status: int = 200, exc=None):
        self.status, self.exc, self.urls = status, exc, []

    def get(self, url, **kwargs):
        self.urls.append((url, kwargs["timeout"]))
        if self.exc is not None:
            raise self.exc
        response = requests.Response()
        response.status_code = self.status
        return response


def test_a_liveness_probe_passes_when_the_upstream_is_live():
    probe = LivenessProbe("orders", "http://orders.internal:8002/", timeout_seconds=0.4)
    probe.session = StubSession(200)

    assert probe() is None
    assert probe.session.urls == [("http://orders.internal:8002/health/live", (0.4, 0.4))]


@pytest.mark.parametrize(
    ("session", "message"),
    [
        (StubSession(exc=_refused()), "orders is unreachable"),
        (StubSession(exc=requests.ConnectTimeout()), "orders is unreachable"),
        (StubSession(exc=requests.ReadTimeout()), "orders did not answer in time"),
        (StubSession(503), "orders answered 503"),
        (StubSession(302), "orders answered 302"),
    ],
)
def test_a_liveness_probe_fails_with_a_short_message_naming_the_upstream(session, message):
    probe = LivenessProbe("orders", "http://orders.internal:8002")
    probe.session = session

    with pytest.raises(UpstreamDown) as caught:
        probe()

    assert str(caught.value) == message


def test_a_503_naming_the_service_behind_is_passed_on_with_its_retry_after():
    http = StubHttp(503, b'{"error": {"code": "upstream_unavailable", "details": {"upstream": "payments"}}}')
    http_request = http.request

    def with_retry_after(method, path, **kwargs):
        response = http_request(method, path, **kwargs)
        response.headers["Retry-After"] = "4"
        return response

    http.request = with_retry_after

    with pytest.raises(UpstreamFailure) as caught:
        OrdersClient("orders", http, TOKENS).get(ALICE, 5)

    failure = caught.value
    assert (failure.upstream, failure.kind, failure.status, failure.retry_after_seconds) == (
        "payments",
        Failure.UNREACHABLE,
        503,
        4.0,
    )


class FlakyHttp(StubHttp):
    """Answers what it was given until ``down`` is set, then raises a refused connection."""

    down = False

    def request(self, method, path, **kwargs):
        if self.down:
            raise requests.ConnectionError("refused")
        return super().request(method, path, **kwargs)


def test_a_product_read_is_answered_stale_from_its_last_good_answer_while_products_fails():
    http = FlakyHttp(200, b'{"id": 3, "stock": 5}')
    stale: list[str] = []
    products = ProductsClient("products", http, TOKENS, on_stale=stale.append)
    fresh = products.get(3)
    http.down = True

    answered = products.get(3)

    assert (fresh.stale_seconds, answered.status, answered.body) == (None, 200, {"id": 3, "stock": 5})
    assert answered.stale_seconds is not None and answered.stale_seconds >= 0
    assert stale == ["/products/{id}"]
    with pytest.raises(UpstreamFailure):  # never read while products was up: nothing to serve
        products.get(4)
    with pytest.raises(UpstreamFailure):  # another page is another read
        products.list(20, 20)


def test_the_last_good_answers_are_bounded_and_a_404_forgets_its_read():
    http = FlakyHttp(200, b"{}")
    products = ProductsClient("products", http, TOKENS, last_good=LastGood(max_entries=2))
    for product_id in (1, 2, 3):
        products.get(product_id)
    http.status = 404
    products.get(3)
    http.down = True

    assert len(products.last_good) == 1
    assert products.get(2).stale_seconds is not None
    for forgotten in (1, 3):  # 1 fell out first; 3 is gone
        with pytest.raises(UpstreamFailure):
            products.get(forgotten)
