"""GET /audit/payments: the payments for the integrity audit, in keyset pages by saga key."""

import pytest

from tests.support.auth import AUDIT
from tests.support.paging import BAD_PAGES, audit_pages
from tests.support.payments import charge_body, saga_for


def test_pages_of_two_hand_out_every_payment_exactly_once_in_saga_order_and_stop_at_until(client):
    for order_id in range(1, 6):
        assert client.post("/payments", json=charge_body(order_id=order_id)).status_code == 201
    sagas = sorted(saga_for(order_id) for order_id in range(1, 6))

    pages = audit_pages(client, "/audit/payments", "payments", "saga_id", limit=2)

    assert pages == [sagas[:2], sagas[2:4], sagas[4:]]
    assert audit_pages(client, "/audit/payments", "payments", "saga_id", limit=2, until=sagas[1]) == [sagas[:2]]


@pytest.mark.parametrize("query", BAD_PAGES)
def test_a_page_outside_the_paging_rules_is_a_400_naming_the_parameter(client, query):
    response = client.get("/audit/payments", query_string=query, headers=AUDIT)

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_page"
    assert [d["field"] for d in error["details"]] == list(query)
