"""GET /audit/orders: every order for the integrity audit, with its saga id and UTC ISO 8601 timestamps."""

from datetime import UTC, datetime

from tests.support.auth import AUDIT
from tests.support.fakes.orders import DECLINE
from tests.support.orders import OTHER_USER, order_body


def test_the_audit_lists_every_customers_orders_with_saga_ids_statuses_totals_and_utc_timestamps(orders):
    confirmed = orders.order(order_body((1, 2))).get_json()
    assert orders.order(order_body((2, 1), card=DECLINE), headers=OTHER_USER).status_code == 402

    response = orders.client.get("/audit/orders", headers=AUDIT)  # the audit as itself

    assert response.status_code == 200
    first, second = orders.rows()
    listed = response.get_json()["orders"]
    assert [(o["order_id"], o["saga_id"], o["status"], o["total_cents"]) for o in listed] == [
        (confirmed["id"], first.saga_id, "confirmed", 2500),
        (second.id, second.saga_id, "failed", 2999),
    ]
    for order in listed:
        for field in ("created_at", "updated_at"):
            assert order[field].endswith("Z")
            assert datetime.fromisoformat(order[field]).tzinfo == UTC
