import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.fakes.payments import CountingProvider
from tests.support.payments import (
    DECLINES,
    MASTERCARD,
    NO_FUNDS,
    all_rows,
    charge_body,
    payment_counts,
    rows,
    saga_for,
    sample,
)


def test_an_approved_card_is_charged_and_answered_201_with_the_completed_payment(app, client):
    response = client.post("/payments", json=charge_body(order_id=11, amount_cents=2599))
    assert response.status_code == 201
    body = response.get_json()
    assert body == {
        "id": body["id"],
        "saga_id": saga_for(11),
        "order_id": 11,
        "status": "completed",
        "amount_cents": 2599,
        "currency": "EUR",
        "card_brand": "visa",
        "card_last4": "4242",
        "decline_code": None,
        "created_at": body["created_at"],
    }
    assert isinstance(body["id"], int) and body["id"] >= 1
    created = datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    assert created.tzinfo is not None and abs(datetime.now(UTC) - created) < timedelta(minutes=1)
    [row] = rows(app)
    stored = ("id", "saga_id", "order_id", "status", "amount_cents", "currency", "card_brand", "card_last4")
    stored += ("decline_code",)
    assert {k: row[k] for k in stored} == {k: body[k] for k in stored}
    assert payment_counts(app) == {"approved": 1.0, "card_declined": 0.0, "insufficient_funds": 0.0}


def test_another_valid_card_is_approved_and_stored_with_its_brand(app, client):
    response = client.post("/payments", json=charge_body(number=MASTERCARD))
    assert response.status_code == 201
    assert (response.get_json()["card_brand"], response.get_json()["card_last4"]) == ("mastercard", "4444")
    assert [(r["card_brand"], r["card_last4"]) for r in rows(app)] == [("mastercard", "4444")]


@pytest.mark.parametrize(("number", "code"), [(DECLINES, "card_declined"), (NO_FUNDS, "insufficient_funds")])
def test_a_declined_test_card_answers_402_with_its_code_and_the_declined_payment_is_stored(app, client, number, code):
    response = client.post("/payments", json=charge_body(order_id=12, number=number))
    assert response.status_code == 402
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["request_id"] == response.headers["X-Request-ID"]
    payment = error["details"]["payment"]
    assert (payment["order_id"], payment["status"], payment["decline_code"]) == (12, "declined", code)
    [row] = rows(app)
    assert (row["id"], row["status"], row["decline_code"], row["card_last4"]) == (
        payment["id"],
        "declined",
        code,
        number[-4:],
    )
    assert sample(app, "tienda_payments_total", {"outcome": code}) == 1.0
    assert sample(app, "tienda_payments_total", {"outcome": "approved"}) == 0.0


def test_a_repeated_charge_returns_the_stored_payment_with_200_and_never_charges_twice(make_app):
    provider = CountingProvider()
    app = make_app(payment_provider=provider)
    client = app.test_client()
    first = client.post("/payments", json=charge_body(order_id=21))
    again = client.post("/payments", json=charge_body(order_id=21))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert len(provider.calls) == 1
    assert len(rows(app)) == 1
    assert sample(app, "tienda_payments_total", {"outcome": "approved"}) == 1.0


def test_a_repeated_declined_charge_answers_402_again_without_asking_the_provider(make_app):
    provider = CountingProvider()
    app = make_app(payment_provider=provider)
    client = app.test_client()
    first = client.post("/payments", json=charge_body(order_id=22, number=DECLINES))
    again = client.post("/payments", json=charge_body(order_id=22, number=DECLINES))
    assert (first.status_code, again.status_code) == (402, 402)
    assert again.get_json()["error"]["details"] == first.get_json()["error"]["details"]
    assert len(provider.calls) == 1
    assert sample(app, "tienda_payments_total", {"outcome": "card_declined"}) == 1.0


def test_a_repeat_with_a_different_amount_answers_409_order_already_charged_and_changes_nothing(app, client):
    first = client.post("/payments", json=charge_body(order_id=23, amount_cents=1999))
    response = client.post("/payments", json=charge_body(order_id=23, amount_cents=2000))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "order_already_charged"
    [row] = rows(app)
    assert (row["id"], row["amount_cents"], row["status"]) == (first.get_json()["id"], 1999, "completed")
    assert sample(app, "tienda_payments_total", {"outcome": "approved"}) == 1.0


def test_charges_for_different_orders_are_separate_payments(app, client):
    a = client.post("/payments", json=charge_body(order_id=31)).get_json()
    b = client.post("/payments", json=charge_body(order_id=32)).get_json()
    assert a["id"] != b["id"]
    assert [r["order_id"] for r in rows(app)] == [31, 32]
    assert sample(app, "tienda_payments_total", {"outcome": "approved"}) == 2.0


def test_payment_and_refund_counters_exist_at_zero_before_any_payment(app):
    assert payment_counts(app) == {"approved": 0.0, "card_declined": 0.0, "insufficient_funds": 0.0}
    assert sample(app, "tienda_refunds_total") == 0.0


def test_neither_the_database_nor_the_logs_ever_contain_the_card_number_or_the_cvc(make_app, capfd):
    number, cvc = "4000056655665556", "7319"
    app = make_app()  # made after capfd started, so its log handler writes into the capture
    client = app.test_client()
    headers = {"X-Request-ID": "no-card-data-here"}
    card_body = charge_body(order_id=41, number=number, cvc=cvc)
    assert client.post("/payments", json=card_body, headers=headers).status_code == 201
    assert client.post("/payments", json=card_body, headers=headers).status_code == 200
    bad = charge_body(order_id=42, number=number, cvc=cvc, expiry="01/20")
    assert client.post("/payments", json=bad, headers=headers).status_code == 422
    assert client.post(f"/payments/{rows(app)[0]['id']}/refund", headers=headers).status_code == 200

    stored = [(table, column, value) for table, row in all_rows(app) for column, value in row.items()]
    assert stored, "the payment should have been stored"
    for table, column, value in stored:
        if isinstance(value, str):
            assert number not in value and cvc not in value, f"{table}.{column}"
        elif isinstance(value, int):
            assert value not in (int(number), int(cvc)), f"{table}.{column}"

    out, err = capfd.readouterr()
    assert number not in out + err
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert any(line.get("event") == "payment.approved" for line in lines)
    for line in lines:
        for key, value in line.items():
            assert not (isinstance(value, str) and cvc in value), f"cvc in log field {key}: {line}"


def test_approvals_declines_and_refunds_are_logged_as_events_with_their_ids(make_app, capfd):
    app = make_app()
    client = app.test_client()
    approved = client.post("/payments", json=charge_body(order_id=51)).get_json()
    declined = client.post("/payments", json=charge_body(order_id=52, number=NO_FUNDS)).get_json()
    client.post(f"/payments/{approved['id']}/refund")
    client.post(f"/payments/{approved['id']}/refund")  # an idempotent repeat is not a new event

    out, _ = capfd.readouterr()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    events = [line for line in lines if line.get("event", "").startswith("payment.")]
    declined_id = declined["error"]["details"]["payment"]["id"]
    assert [(e["event"], e["order_id"], e["payment_id"], e["message"]) for e in events] == [
        ("payment.approved", 51, approved["id"], "payment approved"),
        ("payment.declined", 52, declined_id, "payment declined"),
        ("payment.refunded", 51, approved["id"], "payment refunded"),
    ]
    assert events[1]["decline_code"] == "insufficient_funds"
    assert all(e["service"] == "payments" and e["request_id"] for e in events)
