"""GET /orders/{id}/details: the caller's order and its payments, still answered when payments is down."""

from __future__ import annotations

from services.common.auth import Caller, Identity
from tests.support.gateway import bearer

ORDER = {"id": 5, "user_id": 7, "status": "confirmed", "failure_reason": None,
         "items": [{"product_id": 3, "name": "Mug", "quantity": 2, "unit_price_cents": 1250}],
         "total_cents": 2500, "currency": "EUR", "payment_id": 11, "saga_id": "0d" * 16,
         "created_at": "2025-01-01T10:00:00Z", "updated_at": "2025-01-01T10:00:01Z"}  # fmt: skip
PAYMENT = {"id": 11, "saga_id": "0d" * 16, "order_id": 5, "status": "completed", "amount_cents": 2500,
           "currency": "EUR", "card_brand": "visa", "card_last4": "4242", "decline_code": None,
           "created_at": "2025-01-01T10:00:00.500Z"}  # fmt: skip


def _partial_count(gateway) -> float:
    return gateway.registry.get_sample_value("tienda_gateway_partial_responses_total", {"upstream": "payments"})


def test_details_are_the_order_with_the_payment_of_its_saga(gateway, fakes):
    fakes.orders.reply("GET", "/orders/5", 200, ORDER)
    fakes.payments.reply("GET", "/payments", 200, {"items": [PAYMENT]})

    response = gateway.client.get("/api/v1/orders/5/details", headers=bearer(7))

    assert response.status_code == 200
    assert response.get_json() == {"order": ORDER, "payments": [PAYMENT], "partial": False}
    order_call = fakes.orders.only_call()
    assert (order_call.path, order_call.caller) == ("/orders/5", Caller("gateway", Identity(7, "user")))
    payments_call = fakes.payments.only_call()
    assert (payments_call.path, payments_call.args) == ("/payments", {"saga_id": "0d" * 16})
    assert payments_call.caller == Caller("gateway", Identity(7, "user"))
    assert _partial_count(gateway) == 0


def test_details_of_someone_elses_order_are_the_orders_404_and_payments_is_never_asked(client, fakes):
    not_found = {"error": {"code": "order_not_found", "message": "No such order.", "request_id": "r"}}
    fakes.orders.reply("GET", "/orders/5", 404, not_found)

    response = client.get("/api/v1/orders/5/details", headers=bearer(8))

    assert response.status_code == 404
    assert response.get_json() == not_found
    assert fakes.orders.only_call().caller == Caller("gateway", Identity(8, "user"))
    assert not fakes.payments.calls


def test_details_with_payments_down_are_the_order_marked_partial(make_gateway, fakes, closed_url):
    gateway = make_gateway(payments_url=closed_url)
    fakes.orders.reply("GET", "/orders/5", 200, ORDER)

    response = gateway.client.get("/api/v1/orders/5/details", headers=bearer(7))

    assert response.status_code == 200
    assert response.get_json() == {"order": ORDER, "payments": None, "partial": True}
    assert _partial_count(gateway) == 1
    degraded = [r for r in gateway.logs() if r.get("event") == "gateway.details_degraded"]
    assert [(r["upstream"], r["reason"], r["order_id"]) for r in degraded] == [("payments", "unreachable", 5)]


def test_details_with_payments_failing_or_slow_are_the_order_marked_partial(make_gateway, fakes):
    gateway = make_gateway(upstream_read_timeout_seconds=0.3)
    fakes.orders.reply("GET", "/orders/5", 200, ORDER)

    fakes.payments.reply("GET", "/payments", 500, {"error": {"code": "boom", "message": "x", "request_id": None}})
    failing = gateway.client.get("/api/v1/orders/5/details", headers=bearer(7))
    fakes.payments.stall("GET", "/payments", seconds=5)
    slow = gateway.client.get("/api/v1/orders/5/details", headers=bearer(7))

    for response in (failing, slow):
        assert response.status_code == 200
        assert response.get_json() == {"order": ORDER, "payments": None, "partial": True}
    assert _partial_count(gateway) == 2


def test_details_when_orders_is_down_are_503(make_gateway, fakes, closed_url):
    gateway = make_gateway(orders_url=closed_url)

    response = gateway.client.get("/api/v1/orders/5/details", headers=bearer(7))

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "upstream_unavailable"
    assert not fakes.payments.calls
