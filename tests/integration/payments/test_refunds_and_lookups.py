from tests.support.payments import DECLINES, SHOPPER, charge_body, rows, saga_for, sample


def charge(client, order_id=1, **kwargs):
    response = client.post("/payments", json=charge_body(order_id=order_id, **kwargs))
    assert response.status_code in (201, 402)
    body = response.get_json()
    return body if response.status_code == 201 else body["error"]["details"]["payment"]


def test_a_completed_payment_is_refunded_with_200_and_counted(app, client):
    payment = charge(client, order_id=61)
    response = client.post(f"/payments/{payment['id']}/refund")
    assert response.status_code == 200
    assert response.get_json() == {**payment, "status": "refunded"}
    assert [r["status"] for r in rows(app)] == ["refunded"]
    assert sample(app, "tienda_refunds_total") == 1.0


def test_refunding_twice_answers_200_with_the_refunded_payment_and_refunds_once(app, client):
    payment = charge(client, order_id=62)
    first = client.post(f"/payments/{payment['id']}/refund")
    second = client.post(f"/payments/{payment['id']}/refund")
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_json() == first.get_json()
    assert sample(app, "tienda_refunds_total") == 1.0


def test_a_declined_payment_answers_409_not_refundable_and_stays_declined(app, client):
    payment = charge(client, order_id=63, number=DECLINES)
    response = client.post(f"/payments/{payment['id']}/refund")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "not_refundable"
    assert [r["status"] for r in rows(app)] == ["declined"]
    assert sample(app, "tienda_refunds_total") == 0.0


def test_charging_a_refunded_order_again_returns_the_refunded_payment_without_a_new_charge(app, client):
    payment = charge(client, order_id=64)
    client.post(f"/payments/{payment['id']}/refund")
    again = client.post("/payments", json=charge_body(order_id=64))
    assert again.status_code == 200
    assert again.get_json()["status"] == "refunded"
    assert len(rows(app)) == 1
    assert sample(app, "tienda_payments_total", {"outcome": "approved"}) == 1.0


def test_the_payments_of_an_order_are_listed_by_order_id(client):
    payment = charge(client, order_id=71)
    declined = charge(client, order_id=72, number=DECLINES)
    assert client.get("/payments?order_id=71", headers=SHOPPER).get_json() == {"items": [payment]}
    assert client.get("/payments?order_id=72", headers=SHOPPER).get_json() == {"items": [declined]}


def test_the_payment_of_a_saga_is_listed_by_saga_id_and_a_query_gives_exactly_one_of_the_two(client):
    payment = charge(client, order_id=73)
    assert client.get(f"/payments?saga_id={saga_for(73)}", headers=SHOPPER).get_json() == {"items": [payment]}
    assert client.get(f"/payments?saga_id={'c' * 32}", headers=SHOPPER).get_json() == {"items": []}
    for query in ("", f"?order_id=73&saga_id={saga_for(73)}", "?saga_id=ORDER-73"):
        response = client.get(f"/payments{query}", headers=SHOPPER)
        assert (response.status_code, response.get_json()["error"]["code"]) == (422, "invalid_input")


def test_a_new_saga_reusing_an_old_order_id_is_charged_anew_and_both_payments_are_listed(app, client):
    old = charge(client, order_id=91, saga_id="a" * 32, amount_cents=1000)
    response = client.post("/payments", json=charge_body(order_id=91, saga_id="b" * 32, amount_cents=2500))
    assert response.status_code == 201
    new = response.get_json()
    assert new["id"] != old["id"]
    assert (new["saga_id"], new["amount_cents"], new["status"]) == ("b" * 32, 2500, "completed")
    assert client.get("/payments?order_id=91", headers=SHOPPER).get_json() == {"items": [old, new]}
    assert [(r["saga_id"], r["order_id"]) for r in rows(app)] == [("a" * 32, 91), ("b" * 32, 91)]


def test_a_charge_without_a_saga_id_or_with_a_malformed_one_is_refused_and_stores_nothing(app, client):
    body = charge_body(order_id=92)
    del body["saga_id"]
    for sent in (body, charge_body(order_id=92, saga_id="order-92"), charge_body(order_id=92, saga_id="A" * 32)):
        response = client.post("/payments", json=sent)
        assert (response.status_code, response.get_json()["error"]["code"]) == (422, "invalid_input")
    assert rows(app) == []


def test_creating_the_app_twice_on_one_database_migrates_once(make_app):
    first = make_app()
    first.test_client().post("/payments", json=charge_body(order_id=81))
    second = make_app()
    assert [r["order_id"] for r in rows(second)] == [81]
