"""Buyers race for scarce stock through both gateway replicas, whose checkouts land on either orders and either
products replica: the stock is shared through one database, so no more is sold than there is, it never goes
below zero, and every confirmed order was charged exactly its total."""

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.support.chaos import wait_until

STOCK, BUYERS, ATTEMPTS, PRICE_CENTS = 12, 8, 48, 1250


def test_buyers_racing_through_both_gateways_buy_exactly_the_stock_and_pay_exactly_for_it(scaled):
    shop, audit = scaled.shop, scaled.audit
    product = shop.create_product(stock=STOCK, price_cents=PRICE_CENTS)
    tokens = [shop.register(f"Buyer {n}")[1] for n in range(BUYERS)]
    gateways = [replica.url + "/api/v1" for replica in shop.replicas("gateway")]
    lowest, racing = [STOCK], threading.Event()

    def watch_stock() -> None:
        while racing.is_set():
            lowest.append(audit.state().product(product["id"]).stock)

    def buy(n: int):
        line = [{"product_id": product["id"], "quantity": 1}]
        return shop.order(tokens[n % BUYERS], line, api=gateways[n % len(gateways)]), n % len(gateways)

    racing.set()
    watcher = threading.Thread(target=watch_stock)
    watcher.start()
    try:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(buy, range(ATTEMPTS)))
    finally:
        racing.clear()
        watcher.join()
    state = wait_until(lambda: (s := audit.state()) and not s.unfinished() and s, 30, "every order terminal")

    confirmed = [r.json() for r, _ in answers if r.status_code == 201]
    assert sorted({r.status_code for r, _ in answers}) == [201, 409], [r.text for r, _ in answers]
    assert len(confirmed) == STOCK
    assert {gateway for r, gateway in answers if r.status_code == 201} == {0, 1}  # both sold
    assert min(lowest) >= 0 and state.product(product["id"]).stock == 0
    assert state.product(product["id"]).committed == STOCK and state.product(product["id"]).held == 0
    assert all(order["total_cents"] == PRICE_CENTS for order in confirmed)
    charged = {p.order_id: p.amount_cents for p in state.payments if p.status == "completed"}
    assert sum(charged[order["id"]] for order in confirmed) == STOCK * PRICE_CENTS
    ids = {order["id"] for order in confirmed}
    assert [o for o in state.orders if o.status == "confirmed" and o.order_id in ids] == [
        o for o in state.orders if o.order_id in ids
    ]
