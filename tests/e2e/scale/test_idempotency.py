"""One Idempotency-Key sent at the same moment to each gateway replica, addressed directly: the two gateways
forward to either orders replica, and the key's uniqueness in orders' one database lets one saga run. One order,
one charge, and every answer that is not "still in progress" is the same order; a replay on each replica afterwards
answers it too."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.support.chaos import wait_until
from tests.support.shop import bearer

SENDS_PER_GATEWAY = 3


def test_one_key_sent_at_once_to_both_gateway_replicas_makes_one_order_and_one_charge(scaled):
    shop, audit = scaled.shop, scaled.audit
    product = shop.create_product(stock=10, price_cents=990)
    _, token = shop.register("Twice")
    key = {"Idempotency-Key": f"race-{uuid.uuid4().hex}"}
    line = [{"product_id": product["id"], "quantity": 2}]
    gateways = [replica.url + "/api/v1" for replica in shop.replicas("gateway")] * SENDS_PER_GATEWAY
    start = threading.Barrier(len(gateways))

    def send(api: str):
        start.wait(10)
        return shop.order(token, line, api=api, **key)

    with ThreadPoolExecutor(len(gateways)) as pool:
        answers = list(pool.map(send, gateways))
    replays = [shop.order(token, line, api=replica.url + "/api/v1", **key) for replica in shop.replicas("gateway")]
    state = wait_until(lambda: (s := audit.state()) and not s.unfinished() and s, 30, "every order terminal")

    created = [r.json() for r in answers if r.status_code == 201]
    in_progress = [r.json()["error"]["code"] for r in answers if r.status_code == 409]
    assert len(created) + len(in_progress) == len(answers), [r.text for r in answers]
    assert created and set(in_progress) <= {"idempotency_key_in_progress"}
    assert len({order["id"] for order in created}) == 1
    assert [r.status_code for r in replays] == [201, 201]
    assert all(r.json() == created[0] for r in replays), [r.json() for r in replays]
    held = shop.http.get(shop.url("/orders"), headers=bearer(token), timeout=10).json()
    assert [o["id"] for o in held["items"]] == [created[0]["id"]]
    (order,) = [o for o in state.orders if o.saga_id == created[0]["saga_id"]]
    assert order.status == "confirmed"
    assert state.charges(order.saga_id) == ["completed"]
    assert [p.amount_cents for p in state.payments if p.saga_id == order.saga_id] == [2 * 990]
    assert state.product(product["id"]).stock == 8
