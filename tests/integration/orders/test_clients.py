"""ProductsClient and PaymentsClient against small local HTTP servers answering per the contracts."""

import socket
import threading

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from services.common.cards import Card, InvalidCard
from services.common.errors import PaymentDeclined, UpstreamFailure
from services.orders.clients import PaymentsClient, ProductsClient
from services.orders.domain import (
    InsufficientStock,
    Line,
    Payment,
    Reservation,
    ReservationCommitted,
    ReservedItem,
    UnknownProduct,
)
from telemetry.http import Client
from tests.support.auth import ORDERS
from tests.support.captured import Captured, instrumented

CARD = Card("4242424242424242", 12, 2030, "123")


class Upstream:
    """A local HTTP server answering each (method, path) as the test says, and recording what it got."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], tuple[int, object]] = {}
        self.received: list[dict] = []
        self.release = threading.Event()
        app = Flask("fake-upstream")

        @app.route("/<path:path>", methods=["GET", "POST"])
        def answer(path: str):
            self.received.append(
                {"method": request.method, "path": "/" + path, "args": dict(request.args),
                 "json": request.get_json(silent=True), "headers": dict(request.headers)}
            )  # fmt: skip
            status, body = self.answers.get((request.method, "/" + path), (404, {"error": {"code": "not_found"}}))
            if body == "hang":
                self.release.wait(10)
                return jsonify({}), 200
            if isinstance(body, str):
                return body, status, {"Content-Type": "application/json"}
            return jsonify(body), status

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def answer(self, method: str, path: str, status: int, body) -> None:
        self.answers[(method, path)] = (status, body)

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def captured():
    captured = Captured()
    yield captured
    captured.close()


@pytest.fixture
def tel(captured):
    return instrumented("orders", captured)


@pytest.fixture
def upstream():
    server = Upstream()
    yield server
    server.stop()


def products(tel, url: str, **timeouts) -> ProductsClient:
    return ProductsClient(Client(url, telemetry=tel, name="products", **timeouts), ORDERS.tokens)


def payments(tel, url: str, **timeouts) -> PaymentsClient:
    return PaymentsClient(Client(url, telemetry=tel, name="payments", **timeouts), ORDERS.tokens)


RESERVATION = {
    "reservation_id": "order-5", "status": "held", "total_cents": 2800, "currency": "EUR",
    "items": [{"product_id": 1, "name": "Cup", "quantity": 2, "unit_price_cents": 1000},
              {"product_id": 2, "name": "Jug", "quantity": 1, "unit_price_cents": 800}],
}  # fmt: skip
SAGA = "5" * 32
PAYMENT = {
    "id": 31, "saga_id": SAGA, "order_id": 5, "status": "completed", "amount_cents": 2800, "currency": "EUR",
    "card_brand": "visa", "card_last4": "4242", "decline_code": None, "created_at": "2030-01-01T00:00:00Z",
}  # fmt: skip


def test_reserving_posts_the_lines_and_returns_the_held_items_in_a_connected_client_span(tel, captured, upstream):
    upstream.answer("POST", "/reservations", 201, RESERVATION)

    reservation = products(tel, upstream.url).reserve("order-5", [Line(1, 2), Line(2, 1)])

    assert reservation == Reservation(
        "order-5", (ReservedItem(1, "Cup", 2, 1000), ReservedItem(2, "Jug", 1, 800)), "EUR"
    )
    (received,) = upstream.received
    assert received["json"] == {
        "reservation_id": "order-5",
        "items": [{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 1}],
    }
    (span,) = captured.spans()
    assert span.name == "POST /reservations" and span.attributes["http.response.status_code"] == 201
    assert received["headers"]["Traceparent"].split("-")[1] == format(span.context.trace_id, "032x")


def test_a_409_insufficient_stock_is_out_of_stock_with_the_details_and_a_422_is_unknown_product(tel, upstream):
    details = [{"product_id": 2, "requested": 5, "available": 1}]
    client = products(tel, upstream.url)

    upstream.answer("POST", "/reservations", 409, {"error": {"code": "insufficient_stock", "message": "short",
                                                             "details": details}})  # fmt: skip
    with pytest.raises(InsufficientStock) as short:
        client.reserve("order-5", [Line(2, 5)])
    upstream.answer("POST", "/reservations", 422, {"error": {"code": "unknown_product", "message": "no such"}})
    with pytest.raises(UnknownProduct) as unknown:
        client.reserve("order-5", [Line(999, 1)])

    assert (short.value.status, short.value.code, short.value.details) == (409, "insufficient_stock", details)
    assert (unknown.value.status, unknown.value.code, unknown.value.message) == (422, "unknown_product", "no such")


def test_reservation_transitions_follow_the_contract(tel, captured, upstream):
    client = products(tel, upstream.url)
    for action in ("commit", "release", "return"):
        upstream.answer("POST", f"/reservations/order-5/{action}", 200, {**RESERVATION, "status": "released"})
    client.commit("order-5")
    assert client.release("order-5") is True and client.return_stock("order-5") is True
    tombstone = {**RESERVATION, "reservation_id": "order-4", "status": "released", "items": [], "total_cents": 0}
    upstream.answer("POST", "/reservations/order-4/release", 200, tombstone)
    assert client.release("order-4") is False  # released before it arrived: no stock went back

    upstream.answer("POST", "/reservations/order-6/release", 409, {"error": {"code": "reservation_committed"}})
    with pytest.raises(ReservationCommitted):
        client.release("order-6")
    upstream.answer("POST", "/reservations/order-7/release", 409, {"error": {"code": "reservation_returned"}})
    assert client.release("order-7") is False  # its stock was returned already
    assert client.release("order-8") is False  # 404: nothing was ever held
    upstream.answer("POST", "/reservations/order-7/return", 409, {"error": {"code": "reservation_released"}})
    assert client.return_stock("order-7") is False and client.return_stock("order-8") is False
    upstream.answer("POST", "/reservations/order-9/commit", 409, {"error": {"code": "reservation_released"}})
    with pytest.raises(UpstreamFailure) as released:
        client.commit("order-9")

    assert released.value.status == 502 and "reservation_released" in released.value.message
    assert [r["path"] for r in upstream.received][:3] == [
        "/reservations/order-5/commit", "/reservations/order-5/release", "/reservations/order-5/return"
    ]  # fmt: skip
    names = {span.name for span in captured.spans()}
    assert names == {"POST /reservations/{id}/commit", "POST /reservations/{id}/release",
                     "POST /reservations/{id}/return"}  # fmt: skip


def test_charging_sends_the_card_and_maps_402_to_a_decline_with_its_code_and_422_to_an_invalid_card(tel, upstream):
    client = payments(tel, upstream.url)
    upstream.answer("POST", "/payments", 201, PAYMENT)

    payment = client.charge(SAGA, 5, 2800, "EUR", CARD)

    assert payment == Payment(31, 5, "completed", 2800, "EUR")
    assert upstream.received[0]["json"] == {
        "saga_id": SAGA, "order_id": 5, "amount_cents": 2800, "currency": "EUR",
        "card": {"number": "4242424242424242", "expiry": "12/30", "cvc": "123"},
    }  # fmt: skip
    upstream.answer("POST", "/payments", 402, {"error": {"code": "insufficient_funds", "message": "Not enough"}})
    with pytest.raises(PaymentDeclined) as declined:
        client.charge(SAGA, 5, 2800, "EUR", CARD)
    problems = [{"field": "card.number", "message": "fails the Luhn check"}]
    upstream.answer("POST", "/payments", 422, {"error": {"code": "invalid_card", "message": "Bad card",
                                                         "details": problems}})  # fmt: skip
    with pytest.raises(InvalidCard) as invalid:
        client.charge(SAGA, 5, 2800, "EUR", CARD)

    assert (declined.value.status, declined.value.code, declined.value.message) == (402, "insufficient_funds",
                                                                                     "Not enough")  # fmt: skip
    assert (invalid.value.status, invalid.value.code, invalid.value.details) == (422, "invalid_card", problems)


def test_voids_follow_the_contract(tel, captured, upstream):
    client = payments(tel, upstream.url)
    upstream.answer("POST", "/payments/void", 200, {**PAYMENT, "status": "refunded"})
    refunded = client.void(SAGA)
    upstream.answer("POST", "/payments/void", 202, {**PAYMENT, "status": "processing"})
    processing = client.void(SAGA)
    upstream.answer("POST", "/payments/void", 422, {"error": {"code": "invalid_input"}})
    with pytest.raises(UpstreamFailure):
        client.void(SAGA)

    assert refunded == Payment(31, 5, "refunded", 2800, "EUR") and processing.processing
    assert [r["json"] for r in upstream.received] == [{"saga_id": SAGA}] * 3
    assert {s.name for s in captured.spans()} == {"POST /payments/void"}


def test_a_5xx_is_a_502_upstream_failure_whose_outcome_is_unknown(tel, upstream):
    upstream.answer("POST", "/payments", 500, {"error": {"code": "internal_error", "message": "boom"}})

    with pytest.raises(UpstreamFailure) as raised:
        payments(tel, upstream.url).charge(SAGA, 5, 2800, "EUR", CARD)

    failure = raised.value
    assert (failure.status, failure.code, failure.upstream) == (502, "upstream_error", "payments")
    assert failure.outcome_unknown is True


def test_a_refused_connection_is_a_503_upstream_failure_that_certainly_did_nothing(tel, captured):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]

    with pytest.raises(UpstreamFailure) as raised:
        payments(tel, f"http://127.0.0.1:{closed_port}").charge(SAGA, 5, 2800, "EUR", CARD)

    failure = raised.value
    assert (failure.status, failure.code, failure.outcome_unknown) == (503, "upstream_unavailable", False)
    (span,) = captured.spans()
    assert span.name == "POST /payments" and span.attributes["error.type"] == "ConnectionError"
    labels = {"server_address": "127.0.0.1", "server_port": str(closed_port), "http_request_method": "POST",
              "http_response_status_code": "0"}  # fmt: skip
    assert tel.metrics.registry.get_sample_value("http_client_request_duration_seconds_count", labels) == 1


def test_a_timeout_is_a_504_upstream_failure_whose_outcome_is_unknown(tel, upstream):
    upstream.answer("POST", "/reservations/order-5/commit", 200, "hang")

    with pytest.raises(UpstreamFailure) as raised:
        products(tel, upstream.url, read_timeout_seconds=0.2).commit("order-5")

    failure = raised.value
    assert (failure.status, failure.code, failure.upstream) == (504, "upstream_timeout", "products")
    assert failure.outcome_unknown is True


@pytest.mark.parametrize(
    ("status", "body"),
    [(201, "not json"), (201, {"reservation_id": "order-5"}), (201, {**RESERVATION, "items": [{"product_id": "1"}]}),
     (418, {"error": {"code": "teapot"}}), (409, {"error": {"code": "something_else"}})],
)  # fmt: skip
def test_answers_outside_the_contract_are_502_upstream_failures(tel, upstream, status, body):
    upstream.answer("POST", "/reservations", status, body)

    with pytest.raises(UpstreamFailure) as raised:
        products(tel, upstream.url).reserve("order-5", [Line(1, 1)])

    assert raised.value.status == 502 and raised.value.upstream == "products"
