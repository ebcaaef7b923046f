"""The fault matrix: each remote step of checkout and cancel, under each fault, heals.

Steps: reserve, charge and commit (a checkout), release (a declined checkout gives its stock back), void and
return (a cancel). Faults, set on the step's route at the service that serves it (``PUT /admin/faults``):

* ``delay``: the request is served :data:`DELAY_SECONDS` late, after its caller gave up (the budget is
  :data:`~tests.support.chaos.BUDGET_SECONDS`); the work lands afterwards;
* ``drop``: the work is done and committed, and the answer is lost;
* ``kill``: the request hangs at the service, which is then SIGKILLed (master and worker) and restarted.

Each case places or cancels an order through the gateway of a running shop, waits until every order is terminal
and the audit finds no violation, and checks that what the customer was told agrees with money and stock: a
confirmed order holds one completed charge and its committed stock, any other holds no charge and no stock, an
answer that was not 201 means the order is not confirmed unless the keyed replay returns it, and a cancel retried
after the fault ends answers 200 with money and stock given back. Every case runs on SQLite and on PostgreSQL at
once (two shops, two threads): most of a case is waiting for the recovery sweep.
"""

from __future__ import annotations

import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests

from telemetry.faults import route_template
from tests.support.chaos import (
    BUDGET_SECONDS,
    STEPS,
    FaultShop,
    budget,
    faults_injected,
    log_records,
    shop_logs,
    wait_until,
)
from tests.support.shop import APPROVE, DECLINE, bearer

DELAY_SECONDS = BUDGET_SECONDS + 1.5
STOCK, QUANTITY = 5, 2


@dataclass(frozen=True)
class Step:
    name: str
    cancel: bool = False  # a step of cancelling a confirmed order, else of placing one
    card: str = APPROVE  # a declined card makes the checkout release its stock

    @property
    def service(self) -> str:
        return STEPS[self.name][0]

    @property
    def target(self) -> str:
        """The fault rule's target: the step's route at its service."""
        return STEPS[self.name][1]


CASES = [
    Step("reserve"),
    Step("charge"),
    Step("commit"),
    Step("release", card=DECLINE),
    Step("void", cancel=True),
    Step("return", cancel=True),
]
RULES = {
    "delay": {"fault": "latency", "delay_seconds": DELAY_SECONDS},
    "drop": {"fault": "drop"},
    "kill": {"fault": "hang", "hang_seconds": 60},
}


def _late_requests_done(fs: FaultShop, step: Step, since: int) -> bool:
    """Whether every request the delay fault held (after the first ``since``) has been served."""
    records = list(log_records(shop_logs(fs.shop, step.service)))
    held = [r for r in records if r.get("event") == "fault.injected" and r.get("target") == step.target][since:]
    served = [
        r
        for r in records
        if r.get("event") == "http.access"
        and f"{r.get('method')} {route_template(str(r.get('route')))}" == step.target
        and r.get("duration_ms", 0) >= DELAY_SECONDS * 1000
    ]
    return len(served) >= len(held)


def _strike(fs: FaultShop, step: Step, fault: str, send) -> requests.Response:
    """Send the request with the fault set on the step; the answer the customer got."""
    shop, before = fs.shop, faults_injected(fs.shop, step.service, step.target)
    shop.set_faults(step.service, [{"target": step.target, **RULES[fault]}])
    if fault == "kill":
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(send)
            wait_until(lambda: faults_injected(shop, step.service, step.target) > before, 15, f"{step.target} reached")
            shop.kill(step.service)
            shop.restart(step.service)
            return answer.result(timeout=60)
    try:
        return send()
    finally:
        shop.clear_faults(step.service)
        assert faults_injected(shop, step.service, step.target) > before, f"no fault on {step.target}"
        if fault == "delay":
            wait_until(lambda: _late_requests_done(fs, step, before), 30, f"the late {step.target} served")


def _newest_order(fs: FaultShop) -> int:
    r = fs.shop.http.get(fs.shop.url("/orders?limit=1"), headers=bearer(fs.token), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["items"][0]["id"]


def _check_money_and_stock(fs: FaultShop, order_id: int, product_id: int, known: set[tuple[str, str]]) -> str:
    """The order's final status, once the shop settled with no violation but ``known`` ones, after checking its
    charge and stock agree with it."""
    state = fs.audit.settled(known=known)
    order, stock = state.order(order_id), state.product(product_id)
    charges, reservation = state.charges(order.saga_id), state.reservation(order.saga_id)
    if order.status == "confirmed":
        assert charges.count("completed") == 1, charges
        assert (reservation, stock.stock, stock.committed) == ("committed", STOCK - QUANTITY, QUANTITY)
    else:
        assert "completed" not in charges, (order.status, charges)
        assert reservation != "held" and (stock.stock, stock.held, stock.committed) == (STOCK, 0, 0), (
            order.status,
            reservation,
            stock,
        )
    return order.status


def run_case(fs: FaultShop, step: Step, fault: str) -> None:
    shop = fs.shop
    known = fs.audit.found()  # nothing, unless an earlier case failed: this case is judged on what it adds
    product = shop.create_product(stock=STOCK)
    line = [{"product_id": product["id"], "quantity": QUANTITY}]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    if step.cancel:
        placed = shop.order(fs.token, line, **key)
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["id"]
        cancel_url = shop.url(f"/orders/{order_id}/cancel")

        def cancel() -> requests.Response:
            return shop.http.post(cancel_url, headers={**bearer(fs.token), **budget()}, timeout=30)

        answer = _strike(fs, step, fault, cancel)
        status = _check_money_and_stock(fs, order_id, product["id"], known)
        assert status in ("confirmed", "cancelled"), status
        assert answer.status_code != 200 or status == "cancelled", (answer.status_code, status)
        again = shop.http.post(cancel_url, headers=bearer(fs.token), timeout=30)
        assert (again.status_code, again.json()["status"]) == (200, "cancelled"), again.text
        assert _check_money_and_stock(fs, order_id, product["id"], known) == "cancelled"
        return

    answer = _strike(fs, step, fault, lambda: shop.order(fs.token, line, card=step.card, **key, **budget()))
    order_id = _newest_order(fs)
    told = answer.status_code
    assert told >= 500 or (step.card == DECLINE and told == 402), answer.text
    status = _check_money_and_stock(fs, order_id, product["id"], known)
    replay = shop.order(fs.token, line, card=step.card, **key)
    assert (replay.status_code == 201) == (status == "confirmed"), (told, replay.status_code, status)
    if status == "confirmed":
        assert replay.json()["id"] == order_id and told >= 500


@pytest.mark.timeout(180)
@pytest.mark.parametrize("fault", list(RULES))
@pytest.mark.parametrize("step", CASES, ids=[s.name for s in CASES])
def test_a_step_under_the_fault_heals_with_money_stock_and_the_answer_agreeing(fault_shops, step, fault):
    with ThreadPoolExecutor(len(fault_shops)) as pool:
        runs = {kind: pool.submit(run_case, fs, step, fault) for kind, fs in fault_shops.items()}
    failed = {kind: run.exception() for kind, run in runs.items() if run.exception() is not None}
    assert not failed, "\n".join(
        f"--- on {kind}:\n" + "".join(traceback.format_exception(exc)) for kind, exc in failed.items()
    )
