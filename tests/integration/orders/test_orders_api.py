"""Reading and cancelling orders, authorization, metrics, logs, OpenAPI and readiness, over a real database."""

from tests.support.fakes.orders import DECLINE, timed_out, unavailable
from tests.support.orders import OTHER_USER, USER, order_body


def test_customers_list_only_their_own_orders_newest_first_with_limit_and_offset(orders):
    mine = [orders.order(order_body((1, 1))).get_json()["id"] for _ in range(3)]
    theirs = orders.order(order_body((2, 1)), headers=OTHER_USER).get_json()["id"]

    page = orders.client.get("/orders?limit=2", headers=USER).get_json()
    rest = orders.client.get("/orders?limit=2&offset=2", headers=USER).get_json()
    other = orders.client.get("/orders", headers=OTHER_USER).get_json()

    assert [o["id"] for o in page["items"]] == [mine[2], mine[1]]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert [o["id"] for o in rest["items"]] == [mine[0]] and rest["total"] == 3
    assert [o["id"] for o in other["items"]] == [theirs] and other["total"] == 1
    assert all(o["user_id"] == 7 for o in page["items"] + rest["items"])
    for query in ("limit=0", "limit=101", "limit=ten", "offset=-1", "offset=1e3", "page=2"):
        response = orders.client.get(f"/orders?{query}", headers=USER)
        assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_input", query
    assert orders.client.get("/orders?offset=5", headers=OTHER_USER).get_json() == {
        "items": [], "total": 1, "limit": 20, "offset": 5
    }  # fmt: skip


def test_someone_elses_order_is_not_found_to_read_or_cancel_and_stays_as_it_was(orders):
    order = orders.order(order_body((1, 2))).get_json()
    orders.journal.clear()

    for method, path in [("GET", f"/orders/{order['id']}"), ("POST", f"/orders/{order['id']}/cancel"),
                         ("GET", "/orders/999999"), ("GET", f"/orders/{10**30}"),
                         ("POST", f"/orders/{10**30}/cancel")]:  # fmt: skip
        response = orders.client.open(path, method=method, headers=OTHER_USER)
        assert response.status_code == 404, (method, path)
        assert response.get_json()["error"]["code"] == "order_not_found"

    assert orders.row(order["id"]).status == "confirmed" and orders.journal == []
    assert orders.inventory.stock(1) == 8
    assert orders.client.get("/orders/-1", headers=USER).status_code == 404


def test_cancelling_refunds_and_restocks_cancelling_again_answers_the_same_body_and_only_confirmed_orders_cancel(
    orders,
):
    order = orders.order(order_body((1, 2))).get_json()
    assert orders.order(order_body((1, 1), card=DECLINE)).status_code == 402
    failed = orders.rows()[-1]
    orders.journal.clear()

    first = orders.client.post(f"/orders/{order['id']}/cancel", headers=USER)
    again = orders.client.post(f"/orders/{order['id']}/cancel", headers=USER)
    refused = orders.client.post(f"/orders/{failed.id}/cancel", headers=USER)

    assert first.status_code == again.status_code == 200
    assert first.get_json()["status"] == "cancelled" and again.get_json() == first.get_json()
    assert orders.journal.calls() == [("payments", "void"), ("products", "return")]
    assert orders.row(order["id"]).status == "cancelled"
    assert orders.payments.status(order["id"]) == "refunded" and orders.inventory.stock(1) == 10
    assert orders.client.get(f"/orders/{order['id']}", headers=USER).get_json() == first.get_json()
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "not_cancellable"
    assert orders.row(failed.id).status == "failed"


def test_a_cancel_that_cannot_reach_payments_or_products_answers_202_cancelling_and_the_sweep_finishes_it(make_orders):
    orders = make_orders(recovery_grace_seconds=0)
    order = orders.order(order_body((1, 2))).get_json()

    orders.payments.fail("void", unavailable("payments"))
    refused = orders.client.post(f"/orders/{order['id']}/cancel", headers=USER)
    assert orders.payments.status(order["id"]) == "completed" and orders.inventory.stock(1) == 10  # stock back
    orders.payments.heal()
    orders.inventory.fail("return", timed_out("products"))
    timed = orders.client.post(f"/orders/{order['id']}/cancel", headers=USER)

    assert refused.status_code == timed.status_code == 202
    assert refused.get_json()["status"] == timed.get_json()["status"] == "cancelling"
    assert orders.row(order["id"]).status == "cancelling"
    assert orders.client.get(f"/orders/{order['id']}", headers=USER).get_json()["status"] == "cancelling"
    assert orders.payments.status(order["id"]) == "refunded"
    orders.inventory.heal()
    (recovered,) = orders.service.recover_unfinished()
    assert recovered.id == order["id"] and orders.row(order["id"]).status == "cancelled"
    assert orders.inventory.stock(1) == 10 and orders.payments.status(order["id"]) == "refunded"
    (event,) = orders.events("order.cancelled")
    assert event["recovered"] is True
    assert orders.client.post(f"/orders/{order['id']}/cancel", headers=USER).status_code == 200


def test_each_outcome_is_counted_in_the_business_metrics_and_logged_as_an_event_without_card_data(orders):
    names = [("tienda_orders_total", {"outcome": o}) for o in ("confirmed", "declined", "out_of_stock", "failed")]
    names += [("tienda_saga_compensations_total", {"step": s}) for s in ("refund", "release")]
    names += [("tienda_order_cancellations_total", {}), ("tienda_order_value_count", {})]
    assert [orders.sample(name, labels) for name, labels in names] == [0.0] * len(names)

    confirmed = orders.order(order_body((1, 2), (2, 1)), key="metrics-1").get_json()  # 54.99 EUR
    orders.order(order_body((1, 1), card=DECLINE))
    orders.order(order_body((3, 5)))
    orders.inventory.fail("commit", unavailable("products"), times=1)
    orders.order(order_body((1, 1)))
    orders.client.post(f"/orders/{confirmed['id']}/cancel", headers=USER)

    counts = {
        labels.get("outcome") or labels.get("step") or name: orders.sample(name, labels) for name, labels in names
    }
    assert counts == {
        "confirmed": 1.0, "declined": 1.0, "out_of_stock": 1.0, "failed": 1.0, "refund": 1.0, "release": 2.0,
        "tienda_order_cancellations_total": 1.0, "tienda_order_value_count": 1.0,
    }  # fmt: skip
    assert orders.sample("tienda_order_value_sum") == 54.99
    assert orders.sample("tienda_order_value_bucket", {"le": "50.0"}) == 0
    assert orders.sample("tienda_order_value_bucket", {"le": "100.0"}) == 1
    assert 'tienda_orders_total{outcome="confirmed"} 1.0' in orders.client.get("/metrics").get_data(as_text=True)

    created = orders.events("order.created")
    assert len(created) == 4 and all(r["user_id"] == 7 and r["order_id"] for r in created)
    (done,) = orders.events("order.confirmed")
    assert done["order_id"] == confirmed["id"] and done["total_cents"] == 5499 and done["request_id"]
    assert len(done["trace_id"]) == 32
    reasons = sorted(r["reason"] for r in orders.events("order.failed"))
    assert reasons == ["card_declined", "out_of_stock", "products_unavailable"]
    assert [r["step"] for r in orders.events("saga.compensated")] == ["release", "refund", "release"]
    (cancelled,) = orders.events("order.cancelled")
    assert cancelled["order_id"] == confirmed["id"] and cancelled["user_id"] == 7
    text = orders.stream.getvalue()
    assert "4242424242424242" not in text and "4000000000000002" not in text and "12/30" not in text


def test_the_openapi_document_describes_the_order_endpoints_and_readiness_checks_the_database(orders):
    document = orders.client.get("/openapi.json").get_json()
    ready = orders.client.get("/health/ready")

    assert set(document["paths"]) == {"/orders", "/orders/{id}", "/orders/{id}/cancel", "/audit/orders"}
    assert set(document["paths"]["/orders"]) == {"get", "post"}
    post = document["paths"]["/orders"]["post"]
    assert {"201", "402", "409", "422", "503"} <= set(post["responses"])
    assert post["parameters"][0]["name"] == "Idempotency-Key"
    assert document["components"]["schemas"]["OrderCreate"]["additionalProperties"] is False
    assert ready.status_code == 200 and ready.get_json()["checks"]["database"]["status"] == "ok"
