"""Events end to end: the shop as real processes on PostgreSQL, orders and payments publishing to the local
RabbitMQ through a TCP proxy the tests stop and start, notifications consuming a private queue.

One shop serves the module; each test has its own customers and looks only at their orders' events.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from telemetry import requestid
from tests.support import broker as rabbit
from tests.support.chaos import scrape
from tests.support.events import events_of, notification_rows, unpublished
from tests.support.otlp import OtlpReceiver
from tests.support.shop import DECLINE, EVENTS_SHOP, Shop, bearer, running_shop
from tests.support.tcp_proxy import TcpProxy

#: How long events may take to arrive once nothing stands in their way (the relay runs every 0.2 s).
DELIVERY_SECONDS = 30.0


@pytest.fixture(scope="module")
def events_shop(tmp_path_factory):
    receiver = OtlpReceiver().start()
    host, port = rabbit.AMQP_URL.split("@", 1)[1].split("/", 1)[0].split(":")
    proxy = TcpProxy(host, int(port)).start()
    with rabbit.private_topology() as topology:
        relay = {"AMQP_URL": proxy.url("amqp", "guest:guest", "/%2F"), "EVENTS_EXCHANGE": topology.exchange,
                 "RELAY_INTERVAL_SECONDS": "0.2"}  # fmt: skip
        consumer = {"AMQP_URL": rabbit.AMQP_URL, "EVENTS_EXCHANGE": topology.exchange,
                    "NOTIFY_QUEUE": topology.queue, "NOTIFY_RETRY_DELAY_SECONDS": "0.5"}  # fmt: skip
        env = {"orders": relay, "payments": relay, "notifications": consumer}
        try:
            with running_shop("postgres", tmp_path_factory.mktemp("events"), receiver, env, EVENTS_SHOP) as shop:
                shop.proxy = proxy
                shop.tmp = tmp_path_factory.mktemp("events-restarts")
                yield shop
        finally:
            proxy.close()
            receiver.stop()


def wait_for(what: str, check: Callable[[], Any], timeout: float = DELIVERY_SECONDS) -> Any:
    """``check()`` once it returns something true, polled every 0.2 s; fails naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s (last: {found!r})")
        time.sleep(0.2)


def broker_check(shop: Shop, service: str) -> requests.Response:
    return shop.http.get(shop.services[service].url + "/health/ready", timeout=5)


def backlog(shop: Shop) -> int:
    """orders' ``tienda_outbox_backlog`` as scraped."""
    return scrape(shop.services["orders"].url, "tienda_outbox_backlog")[""]


def customer(shop: Shop) -> str:
    return shop.register()[1]


def place(shop: Shop, token: str, product_id: int, card: str | None = None, **headers: str) -> dict[str, Any]:
    response = shop.order(token, [{"product_id": product_id, "quantity": 1}], **({"card": card} if card else {}),
                          **headers)  # fmt: skip
    assert response.status_code in (201, 402), response.text
    body = response.json()
    return body if response.status_code == 201 else {"declined": True, **body}


def my_notifications(shop: Shop, token: str, **params: Any) -> requests.Response:
    return shop.http.get(shop.url("/notifications"), headers=bearer(token), params={"limit": 100, **params}, timeout=10)


def applied_once_in_order(shop: Shop, order_ids: list[int], expected: int) -> None:
    """Every event of these orders was published, and recorded exactly once, each aggregate's in version order."""
    events = wait_for(f"{expected} events published", lambda: (e := events_of(shop, order_ids)) and
                      len(e) >= expected and e)  # fmt: skip
    assert len(events) == expected
    rows = wait_for(f"{expected} notifications recorded", lambda: (r := notification_rows(shop, order_ids)) and
                    len(r) >= expected and r)  # fmt: skip
    by_id = {event.id: event for event in events}
    assert sorted(row["event_id"] for row in rows) == sorted(by_id)  # each event once: none lost, none twice
    versions: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        event = by_id[row["event_id"]]
        versions.setdefault((event.aggregate_type, event.aggregate_id), []).append(event.version)
    assert all(seen == sorted(seen) for seen in versions.values()), versions


def test_orders_go_on_while_the_broker_is_unreachable_and_afterwards_every_event_reaches_notifications_once_in_order(
    events_shop,
):
    shop = events_shop
    product = shop.create_product(stock=50)
    token = customer(shop)
    shop.proxy.stop()
    try:
        placed = [place(shop, token, product["id"]) for _ in range(4)]
        declined = place(shop, token, product["id"], card=DECLINE)
        cancel = shop.http.post(shop.url(f"/orders/{placed[0]['id']}/cancel"), headers=bearer(token), timeout=30)
        assert cancel.status_code == 200, cancel.text
        assert all("declined" not in order for order in placed) and "declined" in declined

        for service in ("orders", "payments"):
            ready = wait_for(f"{service} readiness degraded", lambda s=service: (r := broker_check(shop, s)).json()[
                "checks"]["broker"]["status"] == "degraded" and r)  # fmt: skip
            assert ready.status_code == 200
        # 4 confirmed + 1 cancelled + 1 failed order events; 4 captures + 1 refund: all still waiting.
        assert wait_for("backlog gauge", lambda: backlog(shop)
                        >= 6)  # fmt: skip
        assert unpublished(shop, "orders") >= 6 and unpublished(shop, "payments") >= 5
        assert my_notifications(shop, token).json()["items"] == []
    finally:
        shop.proxy.start()

    order_ids = [order["id"] for order in placed]
    failed = [o["id"] for o in shop.http.get(shop.url("/orders"), headers=bearer(token), timeout=10).json()["items"]
              if o["status"] == "failed"]  # fmt: skip
    applied_once_in_order(shop, order_ids + failed, expected=11)
    for service in ("orders", "payments"):
        wait_for(f"{service} readiness ok", lambda s=service: broker_check(shop, s).json()["checks"]["broker"]["status"]
                 == "ok")  # fmt: skip
    assert wait_for("backlog drained", lambda: backlog(shop) == 0)


def test_notifications_killed_mid_stream_and_restarted_applies_every_event_once(events_shop):
    shop = events_shop
    product = shop.create_product(stock=50)
    token = customer(shop)
    placed: list[dict[str, Any]] = []
    third = threading.Event()

    def shopping() -> None:
        for n in range(8):
            placed.append(place(shop, token, product["id"]))
            if n == 2:
                third.set()

    buyer = threading.Thread(target=shopping)
    buyer.start()
    assert third.wait(60)
    shop.services["notifications"].kill()
    buyer.join(120)
    assert len(placed) == 8
    killed = shop.services["notifications"]
    killed.stop()  # closes its log; the process is gone already
    shop.services["notifications"] = killed.restarted(shop.tmp / "notifications-2.log")

    applied_once_in_order(shop, [order["id"] for order in placed], expected=16)


def test_the_notifications_consumer_span_is_in_the_trace_of_the_orders_gateway_span_with_its_request_id(events_shop):
    shop = events_shop
    product = shop.create_product(stock=5)
    order = place(shop, customer(shop), product["id"], **{"X-Request-ID": "events-one-trace-1"})

    def spans_of_the_request():
        spans = shop.receiver.spans
        gateway = [s for s in spans if s.service == "gateway" and s.kind == "SERVER" and s.name.startswith("POST")
                   and s.attributes.get(requestid.SPAN_ATTRIBUTE) == ["events-one-trace-1"]]  # fmt: skip
        consumed = [s for s in spans if s.service == "notifications" and s.kind == "CONSUMER"
                    and s.attributes.get("messaging.message.id") in ids]  # fmt: skip
        return gateway and consumed and (gateway, consumed)

    ids = {event.id for event in events_of(shop, [order["id"]]) if event.type == "order.confirmed"} or wait_for(
        "order.confirmed published",
        lambda: {e.id for e in events_of(shop, [order["id"]]) if e.type == "order.confirmed"},
    )
    (gateway,), (consumed, *_) = wait_for("the request's gateway and consumer spans", spans_of_the_request)
    assert consumed.trace_id == gateway.trace_id
    assert consumed.name.startswith("process ")
    assert consumed.attributes["messaging.system"] == "rabbitmq"
    assert consumed.attributes["messaging.operation.type"] == "process"
    assert consumed.attributes[requestid.SPAN_ATTRIBUTE] == "events-one-trace-1"


def test_a_customer_sees_their_notifications_through_the_gateway_and_another_customer_does_not(events_shop):
    shop = events_shop
    product = shop.create_product(stock=5)
    ada, bob = customer(shop), customer(shop)
    order = place(shop, ada, product["id"])

    seen = wait_for("Ada's two notifications", lambda: len(items := my_notifications(shop, ada).json()["items"]) == 2
                    and items)  # fmt: skip
    assert sorted(n["kind"] for n in seen) == ["order_confirmed", "payment_captured"]
    assert {n["order_id"] for n in seen} == {order["id"]} and {n["user_id"] for n in seen} == {order["user_id"]}
    assert my_notifications(shop, bob).json()["items"] == []
    refused = my_notifications(shop, bob, user_id=order["user_id"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "admin_only"
    admin = my_notifications(shop, shop.admin_token(), user_id=order["user_id"])
    assert sorted(n["event_id"] for n in admin.json()["items"]) == sorted(n["event_id"] for n in seen)
