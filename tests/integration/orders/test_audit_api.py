"""GET /audit/orders: the orders for the integrity audit by saga id, with UTC ISO 8601 timestamps."""

from datetime import UTC, datetime

import pytest

from tests.support.auth import AUDIT
from tests.support.fakes.orders import DECLINE
from tests.support.orders import OTHER_USER, order_body
from tests.support.paging import BAD_PAGES, audit_pages


def test_the_audit_lists_every_customers_orders_by_saga_id_with_statuses_totals_and_utc_timestamps(orders):
    confirmed = orders.order(order_body((1, 2))).get_json()
    assert orders.order(order_body((2, 1), card=DECLINE), headers=OTHER_USER).status_code == 402

    response = orders.client.get("/audit/orders", headers=AUDIT)  # the audit as itself

    assert response.status_code == 200
    first, second = orders.rows()
    listed = response.get_json()["orders"]
    assert [(o["order_id"], o["saga_id"], o["status"], o["total_cents"]) for o in listed] == sorted(
        [(confirmed["id"], first.saga_id, "confirmed", 2500), (second.id, second.saga_id, "failed", 2999)],
        key=lambda row: row[1],
    )
    assert response.get_json()["next"] is None
    for order in listed:
        for field in ("created_at", "updated_at"):
            assert order[field].endswith("Z")
            assert datetime.fromisoformat(order[field]).tzinfo == UTC


def test_pages_of_two_hand_out_every_order_exactly_once_in_saga_order_and_stop_at_until(orders):
    for _ in range(5):
        assert orders.order(order_body((1, 1))).status_code == 201
    sagas = sorted(row.saga_id for row in orders.rows())

    pages = audit_pages(orders.client, "/audit/orders", "orders", "saga_id", limit=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [saga for page in pages for saga in page] == sagas
    assert audit_pages(orders.client, "/audit/orders", "orders", "saga_id", limit=2, until=sagas[2]) == [
        sagas[:2],
        sagas[2:3],
    ]


@pytest.mark.parametrize("query", BAD_PAGES)
def test_a_page_outside_the_paging_rules_is_a_400_naming_the_parameter(orders, query):
    response = orders.client.get("/audit/orders", query_string=query, headers=AUDIT)

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_page"
    assert [d["field"] for d in error["details"]] == list(query)
