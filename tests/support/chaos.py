"""What the fault matrix and the chaos soak share (tests/e2e/faults/): a shop that heals in seconds, the audit
over it, and the figures read from its logs and metrics.

The shop's timings are set through the environment so that a fault case takes seconds, not minutes:

* every order and cancel a test sends carries ``X-Request-Budget-Ms`` (:data:`BUDGET_SECONDS`), so the gateway
  and orders give up on a step after that long (the budget caps every hop's timeouts, ``telemetry/deadline.py``);
* orders' recovery sweep takes an order untouched for :data:`RECOVERY_GRACE_SECONDS` every
  :data:`RECOVERY_INTERVAL_SECONDS`. That is above the budget, so a saga bound by it is never swept; but the
  checkout of an order sent with an ``Idempotency-Key`` runs on past its caller's deadline (a replay gets its
  end state) at orders' own timeouts, and the sweep may take it while it runs. Orders warns of this grace at
  start (``orders.recovery_grace_short``); the shop must stay whole with a sweep and a saga on one order at once;
* payments reconciles a charge left ``processing`` after :data:`RECONCILE_AFTER_SECONDS`.

:data:`HEAL_BOUND_SECONDS` is the target for these timings: at most that long after the last fault ended, every
order is terminal and the audit finds nothing (docs/architecture.md, "The bound after the last fault", states the
same rule at the default timings).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import requests
from flask import Flask
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import telemetry
from services.audit.clients import HttpStateSource
from services.audit.domain import OrderRecord, PaymentRecord, ReservationRecord, Violation, audit, every
from services.common.contract import DEFAULT_AUDIT_PAGE_SIZE
from services.common.errors import DomainError
from services.common.stock import ProductStock
from telemetry.deadline import HEADER as BUDGET_HEADER
from telemetry.http import Client
from tests.support.auth import AUDIT
from tests.support.otlp import OtlpReceiver
from tests.support.shop import Shop, running_shop

T = TypeVar("T")

BUDGET_SECONDS = 2.0
RECOVERY_GRACE_SECONDS = 3.0
RECOVERY_INTERVAL_SECONDS = 0.5
RECONCILE_AFTER_SECONDS = 3.0
RECONCILE_INTERVAL_SECONDS = 0.5
#: Grace plus interval, plus one more sweep whose step still failed, plus a reconciliation of a charge left
#: processing, with room for a slow machine: well under the default minute.
HEAL_BOUND_SECONDS = 30.0

#: The remote steps of checkout and cancel: the service that serves each, and its route as a fault target.
STEPS: dict[str, tuple[str, str]] = {
    "reserve": ("products", "POST /reservations"),
    "charge": ("payments", "POST /payments"),
    "commit": ("products", "POST /reservations/{reservation_id}/commit"),
    "release": ("products", "POST /reservations/{reservation_id}/release"),
    "void": ("payments", "POST /payments/void"),
    "return": ("products", "POST /reservations/{reservation_id}/return"),
}
TERMINAL = frozenset({"confirmed", "failed", "cancelled"})
AUDITED = ("orders", "payments", "products")

#: ``running_shop(..., extra_env=HEALING_ENV)``: a shop whose recovery runs in seconds.
HEALING_ENV: dict[str, dict[str, str]] = {
    "orders": {
        "RECOVERY_GRACE_SECONDS": str(RECOVERY_GRACE_SECONDS),
        "RECOVERY_INTERVAL_SECONDS": str(RECOVERY_INTERVAL_SECONDS),
    },
    "payments": {
        "RECONCILE_AFTER_SECONDS": str(RECONCILE_AFTER_SECONDS),
        "RECONCILE_INTERVAL_SECONDS": str(RECONCILE_INTERVAL_SECONDS),
    },
}


def budget(seconds: float = BUDGET_SECONDS) -> dict[str, str]:
    """The header giving a request ``seconds`` of deadline budget."""
    return {BUDGET_HEADER: str(int(seconds * 1000))}


def wait_until(condition: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll ``condition`` until it returns something truthy (returned), or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(interval)  # polling interval, not a wait for the outcome


@dataclass(frozen=True)
class State:
    """One read of the shop through the audit endpoints."""

    orders: list[OrderRecord]
    payments: list[PaymentRecord]
    products: list[ProductStock]
    reservations: list[ReservationRecord]

    def order(self, order_id: int) -> OrderRecord:
        (found,) = [o for o in self.orders if o.order_id == order_id]
        return found

    def charges(self, saga_id: str) -> list[str]:
        """The statuses of the saga's payments (a void's tombstone included)."""
        return [p.status for p in self.payments if p.saga_id == saga_id]

    def reservation(self, saga_id: str) -> str | None:
        return next((r.status for r in self.reservations if r.reservation_id == saga_id), None)

    def product(self, product_id: int) -> ProductStock:
        (found,) = [p for p in self.products if p.product_id == product_id]
        return found

    def unfinished(self) -> set[str]:
        return {o.saga_id for o in self.orders if o.status not in TERMINAL}


class ShopAudit:
    """The integrity audit (``services.audit.domain.check`` over :class:`HttpStateSource`) of a running shop."""

    def __init__(self, shop: Shop) -> None:
        tel = telemetry.instrument(
            Flask("fault-audit"),
            service_name="audit",
            registry=CollectorRegistry(),
            tracer_provider=TracerProvider(),
            log_stream=io.StringIO(),
            configure_logs=False,
        )
        # The services keep their ports across restarts, so these clients reach a restarted one too.
        clients = {name: Client(shop.entries[name], telemetry=tel, name=name) for name in AUDITED}
        self.source = HttpStateSource(**clients, tokens=AUDIT.tokens)

    def state(self) -> State:
        """Orders, then payments and stock, read until the orders read again after them are unchanged: what the
        others show then belongs to those orders (a row written after the first read belongs to an order seen)."""
        orders = self.orders()
        while True:
            payments = list(every(self.source.payments, limit=DEFAULT_AUDIT_PAGE_SIZE))
            products = list(every(self.source.stock, limit=DEFAULT_AUDIT_PAGE_SIZE))
            reservations = list(every(self.source.reservations, limit=DEFAULT_AUDIT_PAGE_SIZE))
            again = self.orders()
            if again == orders:
                return State(orders, payments, products, reservations)
            orders = again

    def orders(self) -> list[OrderRecord]:
        return list(every(self.source.orders, limit=DEFAULT_AUDIT_PAGE_SIZE))

    def violations(self, bound_seconds: float = HEAL_BOUND_SECONDS) -> list[Violation]:
        """One audit run, as the audit service makes it (each range of sagas: orders before and after the others)."""
        now = functools.partial(datetime.now, UTC)
        violations, _ = audit(self.source, now=now, bound_seconds=bound_seconds, page_size=DEFAULT_AUDIT_PAGE_SIZE)
        return violations

    def found(self) -> set[tuple[str, str]]:
        """The violations an audit run finds now, as (invariant, subject)."""
        return {(v.invariant, v.subject) for v in self.violations()}

    def settled(self, timeout: float = HEAL_BOUND_SECONDS, known: set[tuple[str, str]] = frozenset()) -> State:
        """Wait until every order is terminal and an audit run finds no violation (none but ``known``: those an
        earlier, failed, test left); the state then.

        Fails with the last violations when that does not happen within ``timeout``.
        """
        last: list[Violation] = []

        def clean() -> State | None:
            nonlocal last
            try:
                state = self.state()
                if state.unfinished():
                    return None
                last = [v for v in self.violations() if (v.invariant, v.subject) not in known]
            except DomainError as exc:  # a service does not answer (yet): the audit cannot judge it
                last = [Violation("unreadable", exc.code, str(exc))]
                return None
            return state if not last else None

        try:
            return wait_until(clean, timeout, "every order terminal and no audit violation", interval=0.25)
        except AssertionError as exc:
            with contextlib.suppress(DomainError):
                state = self.state()
                last = [
                    *last,
                    *(
                        Violation("unfinished", f"order {o.order_id}", o.status)
                        for o in state.orders
                        if o.status not in TERMINAL
                    ),
                ]
            raise AssertionError(f"{exc}: {last}") from None

    def close(self) -> None:
        self.source.close()


def log_records(paths: Iterable[Path]) -> Iterator[dict]:
    """The JSON log lines of the given files (a service's log and those of its earlier processes)."""
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict):
                    yield record


def shop_logs(shop: Shop, name: str | None = None) -> list[Path]:
    """Every log file the shop wrote, or those of service ``name`` (before and after its restarts)."""
    directory = next(iter(shop.services.values())).log_path.parent
    return sorted(directory.glob(f"{name}*.log" if name else "*.log"))


def faults_injected(shop: Shop, name: str | None = None, target: str | None = None) -> int:
    """How many faults the shop's services injected (``event=fault.injected`` log lines), optionally one
    service's on one target."""
    return sum(
        1
        for r in log_records(shop_logs(shop, name))
        if r.get("event") == "fault.injected" and (target is None or r.get("target") == target)
    )


def recoveries(shop: Shop) -> int:
    """Orders the recovery sweep finished (``order.failed`` / ``order.confirmed`` with ``recovered``)."""
    return sum(
        1
        for r in log_records(shop_logs(shop, "orders"))
        if r.get("recovered") is True and r.get("event") in ("order.failed", "order.confirmed", "order.cancelled")
    )


def scrape(url: str, metric: str) -> Counter[str]:
    """A counter's samples at ``url``/metrics, by their labels rendered ``k=v,...`` (empty for none)."""
    text = requests.get(url + "/metrics", timeout=10).text
    found: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == metric:
                found[",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))] += int(sample.value)
    return found


@dataclass
class FaultShop:
    """A running shop for fault tests, its audit, and one customer's token."""

    kind: str
    shop: Shop
    audit: ShopAudit
    token: str


@contextlib.contextmanager
def fault_shop(kind: str, tmp_path: Path, receiver: OtlpReceiver) -> Iterator[FaultShop]:
    """A shop on ``kind`` databases with :data:`HEALING_ENV`, its audit and a registered customer."""
    with running_shop(kind, tmp_path, receiver, extra_env=HEALING_ENV) as shop:
        audit = ShopAudit(shop)
        try:
            yield FaultShop(kind, shop, audit, shop.register("Fay")[1])
        finally:
            audit.close()


@contextlib.contextmanager
def fault_shops(kinds: Iterable[str], tmp_path_factory, receiver: OtlpReceiver) -> Iterator[dict[str, FaultShop]]:
    """A :func:`fault_shop` per database kind, started together and stopped together (a shop takes seconds to
    start and to stop, most of it waiting for its processes)."""
    release = threading.Event()
    ready: dict[str, Future[FaultShop]] = {}
    errors: list[BaseException] = []

    def hold(kind: str, directory: Path, future: Future[FaultShop]) -> None:
        try:
            with fault_shop(kind, directory, receiver) as shop:
                future.set_result(shop)
                release.wait()
        except BaseException as exc:  # handed to the test thread: at start through the future, else at the end
            if not future.done():
                future.set_exception(exc)
            else:
                errors.append(exc)

    threads = []
    for kind in kinds:
        ready[kind] = Future()
        directory = tmp_path_factory.mktemp(f"faults-{kind}")  # here: the factory is not for threads
        threads.append(threading.Thread(target=hold, args=(kind, directory, ready[kind]), name=f"shop-{kind}"))
        threads[-1].start()
    try:
        yield {kind: future.result() for kind, future in ready.items()}
    finally:
        release.set()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
