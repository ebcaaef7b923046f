"""The gateway's rules without HTTP: what an upstream answer means, failure mapping, details aggregation."""

from __future__ import annotations

import pytest

from services.common.auth import Identity
from services.common.errors import FAILURES, DomainError, Failure, UpstreamFailure
from services.gateway.domain import (
    Orders,
    Payments,
    Reply,
    interpret,
    order_details,
)

ALICE = Identity(7, "user")
SAGA = "5a9a" * 8
ORDER = {"id": 5, "user_id": 7, "status": "confirmed", "saga_id": SAGA}
PAYMENT = {"id": 11, "saga_id": SAGA, "order_id": 5, "status": "completed"}


# --- failure mapping --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        (Failure.UNREACHABLE, 503, "upstream_unavailable"),
        (Failure.TIMEOUT, 504, "upstream_timeout"),
        (Failure.SERVER_ERROR, 502, "upstream_error"),
        (Failure.BAD_RESPONSE, 502, "upstream_error"),
    ],
)
def test_each_kind_of_failure_has_its_status_and_code(kind, status, code):
    failure = UpstreamFailure("orders", kind)

    assert (failure.status, failure.code) == (status, code)
    assert isinstance(failure, DomainError)  # answered by the one error handler


def test_every_kind_of_failure_is_mapped():
    assert set(FAILURES) == set(Failure)


@pytest.mark.parametrize("kind", list(Failure))
def test_a_failure_names_the_upstream_in_its_message_and_details(kind):
    failure = UpstreamFailure("payments", kind)

    assert "payments" in failure.message
    assert failure.details == {"upstream": "payments"}
    assert (failure.upstream, failure.kind) == ("payments", kind)


# --- interpreting an answer -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 202, 400, 401, 402, 403, 404, 409, 422, 429])
def test_a_2xx_or_4xx_json_answer_is_a_reply_with_its_status_and_body(status):
    reply = interpret("orders", status, "application/json", b'{"a": [1, {"b": null}]}')

    assert reply == Reply(status, {"a": [1, {"b": None}]})
    assert reply.ok is (status < 300)


def test_a_json_answer_may_have_parameters_or_a_json_suffix_in_its_content_type():
    assert interpret("orders", 200, "application/json; charset=utf-8", b"[]").body == []
    assert interpret("orders", 400, "application/problem+json", b'{"x": 1}').body == {"x": 1}


def test_an_empty_204_is_a_reply_without_a_body():
    assert interpret("products", 204, "", b"") == Reply(204, None)


@pytest.mark.parametrize("status", [500, 501, 502, 503, 504, 599])
def test_a_5xx_is_an_upstream_error_whatever_the_body(status):
    with pytest.raises(UpstreamFailure) as caught:
        interpret("products", status, "application/json", b'{"error": {"message": "Traceback ..."}}')

    assert caught.value.kind is Failure.SERVER_ERROR
    assert "Traceback" not in caught.value.message


@pytest.mark.parametrize(
    ("status", "content_type", "content"),
    [
        (200, "text/html", b"<html></html>"),
        (200, "text/plain", b'{"looks": "like json"}'),
        (200, "application/json", b"{broken"),
        (200, "application/json", b'{"n": NaN}'),
        (200, "application/json", b""),
        (200, "", b"{}"),
        (404, "text/plain", b"Not Found"),
        (301, "application/json", b"{}"),
        (304, "application/json", b""),
        (100, "application/json", b"{}"),
    ],
)
def test_anything_but_json_with_a_2xx_or_4xx_status_is_a_bad_response(status, content_type, content):
    with pytest.raises(UpstreamFailure) as caught:
        interpret("users", status, content_type, content)

    assert caught.value.kind is Failure.BAD_RESPONSE
    assert caught.value.status == 502


# --- details aggregation ----------------------------------------------------------------------------------


class FakeUpstream:
    """Answers every call with ``reply``, or fails as ``failure``; ``calls`` are the (identity, id) asked."""

    upstream: str

    def __init__(self, reply: Reply | None = None, failure: Failure | None = None) -> None:
        self.reply, self.failure, self.calls = reply, failure, []

    def answer(self, identity, key):
        self.calls.append((identity, key))
        if self.failure is not None:
            raise UpstreamFailure(self.upstream, self.failure)
        return self.reply


class FakeOrders(FakeUpstream, Orders):
    upstream = "orders"

    def get(self, identity, order_id):
        return self.answer(identity, order_id)


class FakePayments(FakeUpstream, Payments):
    upstream = "payments"

    def for_saga(self, identity, saga_id):
        return self.answer(identity, saga_id)


def test_details_are_the_order_and_the_payment_of_its_saga_asked_with_the_callers_identity():
    orders = FakeOrders(Reply(200, ORDER))
    payments = FakePayments(Reply(200, {"items": [PAYMENT]}))

    details = order_details(orders, payments, ALICE, 5)

    assert details.reply == Reply(200, {"order": ORDER, "payments": [PAYMENT], "partial": False})
    assert details.degraded_by is None
    assert orders.calls == [(ALICE, 5)]
    assert payments.calls == [(ALICE, SAGA)]  # never by order id: an orders database reset alone reuses those


@pytest.mark.parametrize("status", [401, 404])
def test_an_order_the_caller_cannot_see_is_answered_as_orders_answered_without_asking_payments(status):
    not_found = Reply(status, {"error": {"code": "order_not_found"}})
    payments = FakePayments(Reply(200, {"items": []}))

    details = order_details(FakeOrders(not_found), payments, ALICE, 5)

    assert details.reply == not_found
    assert details.degraded_by is None
    assert payments.calls == []


@pytest.mark.parametrize("kind", list(Failure))
def test_when_orders_fails_the_details_fail_the_same_way(kind):
    payments = FakePayments(Reply(200, {"items": []}))

    with pytest.raises(UpstreamFailure) as caught:
        order_details(FakeOrders(failure=kind), payments, ALICE, 5)

    assert (caught.value.upstream, caught.value.kind) == ("orders", kind)
    assert payments.calls == []


def test_an_order_that_is_not_an_object_is_a_bad_response_from_orders():
    with pytest.raises(UpstreamFailure) as caught:
        order_details(FakeOrders(Reply(200, [ORDER])), FakePayments(Reply(200, {"items": []})), ALICE, 5)

    assert (caught.value.upstream, caught.value.kind) == ("orders", Failure.BAD_RESPONSE)


@pytest.mark.parametrize(
    "payments",
    [
        *(FakePayments(failure=kind) for kind in Failure),
        FakePayments(Reply(404, {"error": {"code": "not_found"}})),
        FakePayments(Reply(200, {"payments": []})),
        FakePayments(Reply(200, {"items": None})),
        FakePayments(Reply(200, [PAYMENT])),
    ],
    ids=[*(kind.value for kind in Failure), "4xx", "no-items", "null-items", "not-an-object"],
)
def test_when_payments_cannot_answer_the_details_are_the_order_marked_partial(payments):
    details = order_details(FakeOrders(Reply(200, ORDER)), payments, ALICE, 5)

    assert details.reply == Reply(200, {"order": ORDER, "payments": None, "partial": True})
    assert details.degraded_by == "payments"


@pytest.mark.parametrize("saga_id", [None, "", 5])
def test_an_order_without_a_saga_id_is_shown_partial_and_payments_is_not_asked_by_anything_else(saga_id):
    payments = FakePayments(Reply(200, {"items": [PAYMENT]}))
    order = {**ORDER, "saga_id": saga_id}

    details = order_details(FakeOrders(Reply(200, order)), payments, ALICE, 5)

    assert details.reply == Reply(200, {"order": order, "payments": None, "partial": True})
    assert details.degraded_by == "payments" and payments.calls == []


def test_an_order_without_payments_is_complete_with_an_empty_list():
    details = order_details(FakeOrders(Reply(200, ORDER)), FakePayments(Reply(200, {"items": []})), ALICE, 5)

    assert details.reply.body == {"order": ORDER, "payments": [], "partial": False}
