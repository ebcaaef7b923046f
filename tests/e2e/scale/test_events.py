"""Both notifications replicas consume the one queue as competing consumers, while both orders and both payments
replicas relay their outboxes: every event the shop published is applied once, a notification row each, none twice
and none missing, and each consumer took its share."""

import contextlib
from collections import Counter

from tests.support.chaos import scrape, wait_until
from tests.support.events import events_of, notification_rows
from tests.support.shop import DECLINE, bearer

ORDERS = 12
#: What each outcome tells the customer (docs/architecture.md, "Events").
NOTIFIED = {
    "confirmed": ["order_confirmed", "payment_captured"],
    "failed": ["order_failed"],
    "cancelled": ["order_cancelled", "order_confirmed", "payment_captured", "payment_refunded"],
}


def test_two_consumers_on_one_queue_apply_every_event_of_the_shop_exactly_once(scaled):
    shop = scaled.shop
    product = shop.create_product(stock=100)
    tokens = [shop.register(f"Told {n}")[1] for n in range(3)]
    outcome: dict[int, str] = {}
    for n in range(ORDERS):
        token, line = tokens[n % 3], [{"product_id": product["id"], "quantity": 1}]
        r = shop.order(token, line, **({"card": DECLINE} if n % 4 == 3 else {}))
        assert r.status_code in (201, 402), r.text
        order = r.json() if r.status_code == 201 else None
        if order is None:
            outcome[_last_order(shop, token)] = "failed"
        elif n % 4 == 2:
            cancel = shop.http.post(shop.url(f"/orders/{order['id']}/cancel"), headers=bearer(token), timeout=30)
            assert cancel.status_code == 200, cancel.text
            outcome[order["id"]] = "cancelled"
        else:
            outcome[order["id"]] = "confirmed"
    expected = Counter((order_id, kind) for order_id, status in outcome.items() for kind in NOTIFIED[status])

    with contextlib.suppress(AssertionError):  # the comparison below says what is missing
        wait_until(lambda: len(notification_rows(shop, outcome)) >= len(expected), 30, "every notification")
    rows = notification_rows(shop, outcome)
    events = {event.id for event in events_of(shop, outcome)}

    assert Counter((row["order_id"], row["kind"]) for row in rows) == expected
    assert sorted(row["event_id"] for row in rows) == sorted(events)  # each published event once, none other
    consumed = [sum(scrape(replica.url, "tienda_events_consumed_total").values()) for replica in
                shop.replicas("notifications")]  # fmt: skip
    assert len(consumed) == 2 and all(count > 0 for count in consumed), consumed


def _last_order(shop, token: str) -> int:
    """The id of the customer's latest order (a declined checkout answers 402 without it)."""
    page = shop.http.get(shop.url("/orders?limit=1"), headers=bearer(token), timeout=10).json()
    return page["items"][0]["id"]
