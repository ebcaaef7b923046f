from tests.support.payments import DECLINES, charge_body, rows, sample


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
    assert client.get("/payments?order_id=71").get_json() == {"items": [payment]}
    assert client.get("/payments?order_id=72").get_json() == {"items": [declined]}


def test_creating_the_app_twice_on_one_database_migrates_once(make_app):
    first = make_app()
    first.test_client().post("/payments", json=charge_body(order_id=81))
    second = make_app()
    assert [r["order_id"] for r in rows(second)] == [81]
