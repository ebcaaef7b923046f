"""POST /payments/void over a real database (SQLite and PostgreSQL): tombstones, refunds, and late charges refused."""

from sqlalchemy import text

from services.common.web import wiring
from tests.support.auth import AUDIT
from tests.support.fakes.payments import CountingProvider
from tests.support.payments import DECLINES, charge_body, rows, saga_for


def test_voiding_an_unknown_saga_stores_a_tombstone_and_a_late_charge_is_refused_409_without_charging(make_app):
    provider = CountingProvider()
    app = make_app(payment_provider=provider)
    client = app.test_client()

    voided = client.post("/payments/void", json={"saga_id": saga_for(5)})
    late = client.post("/payments", json=charge_body(order_id=5))

    assert voided.status_code == 200
    body = voided.get_json()
    assert (body["saga_id"], body["status"], body["amount_cents"]) == (saga_for(5), "voided", 0)
    assert (late.status_code, late.get_json()["error"]["code"]) == (409, "payment_voided")
    assert provider.calls == []
    assert [(r["saga_id"], r["status"], r["amount_cents"]) for r in rows(app)] == [(saga_for(5), "voided", 0)]
    assert client.post("/payments/void", json={"saga_id": saga_for(5)}).get_json() == body  # idempotent


def test_voiding_a_completed_charge_refunds_it_and_a_declined_one_stays_declined(app, client):
    client.post("/payments", json=charge_body(order_id=6))
    client.post("/payments", json=charge_body(order_id=7, number=DECLINES))

    refunded = client.post("/payments/void", json={"saga_id": saga_for(6)})
    declined = client.post("/payments/void", json={"saga_id": saga_for(7)})

    assert (refunded.status_code, refunded.get_json()["status"]) == (200, "refunded")
    assert (declined.status_code, declined.get_json()["status"]) == (200, "declined")
    assert [r["status"] for r in rows(app)] == ["refunded", "declined"]
    replay = client.post("/payments", json=charge_body(order_id=6))
    assert (replay.status_code, replay.get_json()["status"]) == (200, "refunded")  # a replay never charges again


def test_a_void_without_a_well_formed_saga_id_is_refused_422_and_stores_nothing(app, client):
    for body in ({}, {"saga_id": "order-05"}, {"saga_id": "order-x"}, {"saga_id": saga_for(5), "order_id": 5}):
        response = client.post("/payments/void", json=body)
        assert (response.status_code, response.get_json()["error"]["code"]) == (422, "invalid_input")
    assert rows(app) == []


def test_a_charge_made_before_saga_ids_is_voided_by_its_old_key(app, client):
    """The migration keys an old charge ``order-{order_id}``, as it keys the old order: recovery can still void it."""
    client.post("/payments", json=charge_body(order_id=8))
    with wiring(app).database.engine.begin() as connection:
        connection.execute(text("UPDATE payments SET saga_id = 'order-8' WHERE order_id = 8"))
    voided = client.post("/payments/void", json={"saga_id": "order-8"})
    assert (voided.status_code, voided.get_json()["status"]) == (200, "refunded")
    assert [(r["saga_id"], r["status"]) for r in rows(app)] == [("order-8", "refunded")]


def test_the_audit_lists_every_payment_by_saga_with_its_status_amount_and_utc_update_time(client):
    client.post("/payments", json=charge_body(order_id=8, amount_cents=1200))
    client.post("/payments/void", json={"saga_id": saga_for(9)})

    response = client.get("/audit/payments", headers=AUDIT)

    assert response.status_code == 200
    listed = response.get_json()["payments"]
    assert [(p["saga_id"], p["order_id"], p["status"], p["amount_cents"]) for p in listed] == sorted(
        [(saga_for(8), 8, "completed", 1200), (saga_for(9), 0, "voided", 0)]
    )
    assert all(p["updated_at"].endswith("Z") for p in listed)
    assert response.get_json()["next"] is None  # one page holds them all
