"""Requests that must store nothing, sharing one app per backend.

Every malformed charge is a JSON 4xx and leaves no trace: no row, no provider call, no count. Bad
queries and unknown payments likewise; the OpenAPI document, readiness and the schema are read-only.
"""

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from services.common.web import wiring
from services.payments.provider import LedgerBase
from services.payments.store import Base
from tests.support.cards import NOT_13_TO_19_ASCII_DIGITS
from tests.support.payments import SHOPPER, VISA, charge_body, payment_counts, rows

NOTHING_COUNTED = {"approved": 0.0, "card_declined": 0.0, "insufficient_funds": 0.0}


@pytest.fixture
def client(shared_app):
    return shared_app.test_client()


def assert_refused(app, response, status, code, field=None):
    assert response.status_code == status
    assert response.content_type == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code
    if field is not None:
        assert field in [d["field"] for d in error["details"]]
    assert rows(app) == []
    assert payment_counts(app) == NOTHING_COUNTED


def without(field):
    body = charge_body()
    if field.startswith("card."):
        del body["card"][field.removeprefix("card.")]
    else:
        del body[field]
    return body


def with_value(field, value):
    body = charge_body()
    if field.startswith("card."):
        body["card"][field.removeprefix("card.")] = value
    else:
        body[field] = value
    return body


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        pytest.param(b"order_id=1", "application/json", id="not-json"),
        pytest.param(b"", "application/json", id="empty"),
        pytest.param(b"null", "application/json", id="null"),
        pytest.param(b"[1, 2]", "application/json", id="array"),
        pytest.param(b'"charge me"', "application/json", id="string"),
        pytest.param(b"{'order_id': 1}", "application/json", id="single-quoted"),
        pytest.param(b'{"order_id": 1, "amount_cents": NaN}', "application/json", id="nan"),
        pytest.param(b'{"order_id": 1, "amount_cents": Infinity}', "application/json", id="infinity"),
        pytest.param(b"order_id=1&amount_cents=1999", "application/x-www-form-urlencoded", id="form"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused_with_400_invalid_json(shared_app, client, data, content_type):
    response = client.post("/payments", data=data, content_type=content_type)
    assert_refused(shared_app, response, 400, "invalid_json")


@pytest.mark.parametrize(
    "field", ["order_id", "amount_cents", "currency", "card", "card.number", "card.expiry", "card.cvc"]
)
def test_a_missing_field_is_refused_with_422_naming_it(shared_app, client, field):
    response = client.post("/payments", json=without(field))
    assert_refused(shared_app, response, 422, "invalid_input", field)


@pytest.mark.parametrize(("field", "body"), [
    ("card_number", {**charge_body(), "card_number": VISA}),
    ("card.holder", {**charge_body(), "card": {**charge_body()["card"], "holder": "A. Person"}}),
])  # fmt: skip
def test_an_unknown_field_is_refused_with_422_naming_it(shared_app, client, field, body):
    response = client.post("/payments", json=body)
    assert_refused(shared_app, response, 422, "invalid_input", field)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("order_id", "1"), ("order_id", 1.5), ("order_id", 1.0), ("order_id", True), ("order_id", None),
        ("amount_cents", "1999"), ("amount_cents", 19.99), ("amount_cents", 1999.0), ("amount_cents", True),
        ("amount_cents", None), ("currency", 978), ("currency", None), ("card", VISA), ("card", [VISA]),
        ("card.number", 4242424242424242), ("card.expiry", 1299), ("card.cvc", 123), ("card.cvc", None),
    ],
)  # fmt: skip
def test_a_field_of_the_wrong_type_is_refused_with_422_naming_it(shared_app, client, field, value):
    response = client.post("/payments", json=with_value(field, value))
    assert_refused(shared_app, response, 422, "invalid_input", field)


def _values(keyword, values, code, field):
    return [pytest.param({keyword: value}, code, field, id=f"{keyword}={value!r}") for value in values]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        *_values("amount_cents", [0, -1, -1999, 100_000_001, 10**30], "invalid_input", "amount_cents"),  # 1 to 10**8
        *_values("currency", ["USD", "eur", "EURO", ""], "invalid_input", "currency"),  # EUR alone
        *_values("order_id", [0, -1, 2**63, 10**30], "invalid_input", "order_id"),  # a positive 64-bit integer
        *_values("expiry", ["13/30", "00/30", "1/30", "01/2030", "12-99", "", "soon"], "invalid_card", "card.expiry"),
        *_values("cvc", ["12", "12345", "12a", ""], "invalid_card", "card.cvc"),  # 3 or 4 digits
    ],
)
def test_a_value_outside_its_fields_rule_is_refused_with_422_naming_the_field(shared_app, client, change, code, field):
    response = client.post("/payments", json=charge_body(**change))
    assert_refused(shared_app, response, 422, code, field)


@pytest.mark.parametrize(
    "number", [*NOT_13_TO_19_ASCII_DIGITS, "424242424242", "42424242424242424242", "4242424242424241"]
)  # the last three: 12 and 20 digits failing the Luhn check as well, a bad check digit
def test_a_malformed_card_number_is_refused_with_422_without_echoing_it(shared_app, client, number):
    response = client.post("/payments", json=charge_body(number=number))
    assert_refused(shared_app, response, 422, "invalid_card", "card.number")
    if number:
        assert number not in response.get_data(as_text=True)


@pytest.mark.parametrize("expiry", ["01/20", "12/25"])
def test_an_expired_card_is_refused_with_422(shared_app, client, expiry):
    response = client.post("/payments", json=charge_body(expiry=expiry))
    assert_refused(shared_app, response, 422, "invalid_card", "card.expiry")
    assert response.get_json()["error"]["details"] == [{"field": "card.expiry", "message": "The card has expired."}]


def test_a_body_over_64_kib_is_refused_with_413(shared_app, client):
    body = json.dumps({**charge_body(), "padding": "x" * 70_000})
    response = client.post("/payments", data=body, content_type="application/json")
    assert_refused(shared_app, response, 413, "request_entity_too_large")


@pytest.mark.parametrize(
    "query",
    ["", "?order_id=", "?order_id=0", "?order_id=-1", "?order_id=abc", "?order_id=1.5", "?order_id=7.0",
     "?order_id=+7", "?order_id=7_000", "?order_id=%207", f"?order_id={2**63}", "?order_id=1&limit=5"],
)  # fmt: skip
def test_listing_needs_one_positive_integer_order_id(shared_app, client, query):
    response = client.get("/payments" + query, headers=SHOPPER)
    assert_refused(shared_app, response, 422, "invalid_input", None)


@pytest.mark.parametrize("payment_id", ["999", str(2**63), "99999999999999999999999"])
def test_refunding_an_unknown_payment_answers_404_payment_not_found(shared_app, client, payment_id):
    response = client.post(f"/payments/{payment_id}/refund")
    assert_refused(shared_app, response, 404, "payment_not_found")
    assert shared_app.extensions["telemetry"].metrics.registry.get_sample_value("tienda_refunds_total") == 0.0


def test_an_order_without_payments_lists_no_items(client):
    response = client.get("/payments?order_id=74", headers=SHOPPER)
    assert response.status_code == 200
    assert response.get_json() == {"items": []}


def test_the_openapi_document_describes_the_five_operations(client):
    document = client.get("/openapi.json").get_json()
    assert document["info"]["title"] == "tienda payments"
    assert sorted((path, method) for path, ops in document["paths"].items() for method in ops) == [
        ("/audit/payments", "get"),
        ("/payments", "get"),
        ("/payments", "post"),
        ("/payments/void", "post"),
        ("/payments/{id}/refund", "post"),
    ]
    charge_schema = document["components"]["schemas"]["ChargeIn"]
    assert charge_schema["required"] == ["saga_id", "order_id", "amount_cents", "currency", "card"]
    assert charge_schema["additionalProperties"] is False
    assert set(document["paths"]["/payments"]["post"]["responses"]) == {
        "200",
        "201",
        "400",
        "401",
        "402",
        "403",
        "409",
        "413",
        "422",
    }


def test_readiness_checks_the_database(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.get_json()["checks"]["database"]["status"] == "ok"


def test_the_migrations_create_the_payments_table_with_one_payment_per_saga_and_order_ids_not_unique(shared_app):
    inspector = inspect(wiring(shared_app).database.engine)
    assert "alembic_version_payments" in inspector.get_table_names()
    unique = [c["column_names"] for c in inspector.get_unique_constraints("payments")]
    assert unique == [["saga_id"]]
    columns = {c["name"] for c in inspector.get_columns("payments")}
    assert columns == {
        "id", "saga_id", "order_id", "status", "amount_cents", "currency", "card_brand", "card_last4", "decline_code",
        "created_at", "updated_at", "void_requested",
    }  # fmt: skip


def test_the_migrated_schema_matches_the_models(shared_app):
    with wiring(shared_app).database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "version_table": "alembic_version_payments"}
        )
        differences = compare_metadata(context, [Base.metadata, LedgerBase.metadata])
    assert differences == []
