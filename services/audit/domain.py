"""The conservation rules the audit checks: plain Python over a snapshot of every service's state.

The audit reads each service through its internal ``/audit/...`` endpoint (``clients.py``) into a
:class:`Snapshot` and :func:`check` lists every :class:`Violation`. Six invariants, each a label value of
``tienda_audit_violations{invariant}``:

``stock_conserved``
    per product: ``stock + held + committed == initial_stock + restocked`` (released and returned
    reservations gave their stock back, so they are in ``stock`` again).
``charge_has_confirmed_order``
    every completed charge belongs to a confirmed order. Refunded, voided and declined charges hold no money.
``confirmed_order_charged_once``
    a confirmed order holds exactly one completed charge and a committed reservation.
``held_stock_has_unfinished_order``
    every held reservation belongs to an order that is still being placed.
``committed_stock_has_confirmed_order``
    every committed reservation belongs to a confirmed order (or one still being placed or cancelled, which
    the bound judges): a failed or cancelled order has its stock back.
``order_finished_within_bound``
    no order stays unfinished longer than the bound after it was placed, or, for a cancel, after the cancel
    was asked for (``status_changed_at`` of a ``cancelling`` order).

Reads of three services are never one consistent moment: an order placed while the audit runs can show its
charge before its confirmation. So anything that belongs to an order still inside the bound is *in flight*
and not judged yet (the sweep refreshes ``updated_at`` of an order it retries, so age counts from
``created_at``, or for a cancel from when the order entered ``cancelling``), and the audit reads orders both
first and last (:class:`Snapshot` keeps both reads): an order that moved between them is in flight too.
Everything else must already agree.

:class:`AuditService` is the use case: it reads a snapshot through the :class:`StateSource` port
(``clients.py`` over HTTP; tests pass a fake), checks it, logs each violation as one ``audit.violation``
line and hands the counts to :class:`AuditResults` (``metrics.py``). A run that cannot read a service is not
a clean run: it counts as failed and the published counts stay as they were, so an audit that lost sight of
a service never reports zero violations.
"""

from __future__ import annotations

import abc
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from services.common.errors import DomainError
from services.common.stock import ProductStock

log = logging.getLogger("services.audit")

INVARIANTS = (
    "stock_conserved",
    "charge_has_confirmed_order",
    "confirmed_order_charged_once",
    "held_stock_has_unfinished_order",
    "committed_stock_has_confirmed_order",
    "order_finished_within_bound",
)

#: Order states that are not terminal: the saga or a cancel is still working on them.
UNFINISHED = frozenset({"pending", "reserved", "paid", "compensating", "cancelling"})
CONFIRMED = "confirmed"
CANCELLING = "cancelling"


@dataclass(frozen=True)
class ReservationRecord:
    reservation_id: str
    status: str


@dataclass(frozen=True)
class PaymentRecord:
    saga_id: str
    order_id: int
    status: str
    amount_cents: int


@dataclass(frozen=True)
class OrderRecord:
    order_id: int
    saga_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    #: When the order entered its status (None: not known, the placing time stands for it).
    status_changed_at: datetime | None = None

    @property
    def unfinished_since(self) -> datetime:
        """Where the bound counts from: a cancel from when it was asked for, every other step from the placing."""
        if self.status == CANCELLING and self.status_changed_at is not None:
            return self.status_changed_at
        return self.created_at


@dataclass(frozen=True)
class Snapshot:
    """Every service's state as read by one audit run; ``orders_after`` is the second read of orders."""

    orders: Sequence[OrderRecord]
    payments: Sequence[PaymentRecord]
    products: Sequence[ProductStock]
    reservations: Sequence[ReservationRecord]
    orders_after: Sequence[OrderRecord] = field(default=())


@dataclass(frozen=True)
class Violation:
    invariant: str
    subject: str
    message: str


def check(snapshot: Snapshot, *, now: datetime, bound_seconds: float) -> list[Violation]:
    """Every violation in ``snapshot`` at time ``now``; an unfinished order younger than the bound is in flight."""
    cutoff = now - timedelta(seconds=bound_seconds)
    before = {order.saga_id: order for order in snapshot.orders}
    after = {order.saga_id: order for order in snapshot.orders_after} or before
    moved = {saga for saga, order in before.items() if saga in after and after[saga] != order}
    # Judged on the first read, so that a row the other services wrote after it belongs to an order we saw.
    in_flight = moved | {
        saga for saga, order in before.items() if order.status in UNFINISHED and order.unfinished_since > cutoff
    }
    in_flight |= set(after) - set(before)  # placed while the audit ran
    violations = [*_stock(snapshot.products)]
    violations += _charges(before, snapshot.payments, in_flight)
    violations += _reservations(before, snapshot.reservations, in_flight)
    violations += _late_orders(before.values(), in_flight)
    return violations


def counts(violations: Iterable[Violation]) -> dict[str, int]:
    """Violations per invariant, every invariant present (zero when it holds)."""
    found = Counter(violation.invariant for violation in violations)
    return {invariant: found[invariant] for invariant in INVARIANTS}


def _stock(products: Iterable[ProductStock]) -> Iterable[Violation]:
    for p in products:
        accounted = p.stock + p.held + p.committed
        expected = p.initial_stock + p.restocked
        if accounted != expected:
            yield Violation(
                "stock_conserved",
                f"product {p.product_id}",
                f"stock {p.stock} + held {p.held} + committed {p.committed} = {accounted}, "
                f"but initial {p.initial_stock} + restocked {p.restocked} = {expected}",
            )


def _charges(
    orders: dict[str, OrderRecord], payments: Iterable[PaymentRecord], in_flight: set[str]
) -> Iterable[Violation]:
    completed = Counter(p.saga_id for p in payments if p.status == "completed")
    for saga_id in completed:
        if saga_id in in_flight:
            continue
        order = orders.get(saga_id)
        if order is None or order.status != CONFIRMED:
            state = "no order" if order is None else f"order {order.order_id} is {order.status}"
            yield Violation("charge_has_confirmed_order", f"saga {saga_id}", f"a completed charge, but {state}")
    for saga_id, order in orders.items():
        if order.status == CONFIRMED and saga_id not in in_flight and completed[saga_id] != 1:
            yield Violation(
                "confirmed_order_charged_once",
                f"order {order.order_id}",
                f"confirmed with {completed[saga_id]} completed charges",
            )


def _reservations(
    orders: dict[str, OrderRecord], reservations: Iterable[ReservationRecord], in_flight: set[str]
) -> Iterable[Violation]:
    status = {r.reservation_id: r.status for r in reservations}
    for r in reservations:
        if r.status != "held" or r.reservation_id in in_flight:
            continue
        order = orders.get(r.reservation_id)
        state = "no order" if order is None else f"order {order.order_id} is {order.status}"
        yield Violation("held_stock_has_unfinished_order", f"reservation {r.reservation_id}", f"held, but {state}")
    for r in reservations:
        if r.status != "committed" or r.reservation_id in in_flight:
            continue
        order = orders.get(r.reservation_id)
        if order is None or order.status not in UNFINISHED | {CONFIRMED}:
            state = "no order" if order is None else f"order {order.order_id} is {order.status}"
            yield Violation(
                "committed_stock_has_confirmed_order", f"reservation {r.reservation_id}", f"committed, but {state}"
            )
    for saga_id, order in orders.items():
        if order.status == CONFIRMED and saga_id not in in_flight and status.get(saga_id) != "committed":
            yield Violation(
                "confirmed_order_charged_once",
                f"order {order.order_id}",
                f"confirmed, but its reservation is {status.get(saga_id, 'missing')}",
            )


def _late_orders(orders: Iterable[OrderRecord], in_flight: set[str]) -> Iterable[Violation]:
    for order in orders:
        if order.status in UNFINISHED and order.saga_id not in in_flight:
            yield Violation(
                "order_finished_within_bound",
                f"order {order.order_id}",
                f"still {order.status}, unfinished since {order.unfinished_since.isoformat()}",
            )


# The use case -----------------------------------------------------------------------------------------------


class StateSource(abc.ABC):
    """Where the audit reads each service's state."""

    @abc.abstractmethod
    def orders(self) -> Sequence[OrderRecord]: ...

    @abc.abstractmethod
    def payments(self) -> Sequence[PaymentRecord]: ...

    @abc.abstractmethod
    def stock(self) -> tuple[Sequence[ProductStock], Sequence[ReservationRecord]]: ...


class AuditResults(Protocol):
    """What the audit publishes (``metrics.py`` implements it with Prometheus gauges)."""

    def ran(self, violations: dict[str, int], at: datetime) -> None: ...

    def failed(self) -> None: ...


@dataclass(frozen=True)
class Report:
    at: datetime
    violations: list[Violation]

    @property
    def counts(self) -> dict[str, int]:
        return counts(self.violations)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class AuditService:
    """One audit run per :meth:`run`; ``bound_seconds`` is how long an order may stay unfinished."""

    source: StateSource
    results: AuditResults
    _: KW_ONLY
    bound_seconds: float
    clock: Callable[[], datetime] = utcnow
    last: Report | None = field(default=None, init=False)

    def run(self) -> Report:
        """Read, check and publish; raises the reading error (after counting the run as failed)."""
        try:
            orders = self.source.orders()
            payments = self.source.payments()
            products, reservations = self.source.stock()
            orders_after = self.source.orders()
        except DomainError as exc:
            self.results.failed()
            log.warning("audit could not read a service", extra={"event": "audit.failed", "error_code": exc.code})
            raise
        now = self.clock()
        snapshot = Snapshot(orders, payments, products, reservations, orders_after)
        report = Report(now, check(snapshot, now=now, bound_seconds=self.bound_seconds))
        for violation in report.violations:
            log.error(
                "invariant violated",
                extra={
                    "event": "audit.violation",
                    "invariant": violation.invariant,
                    "subject": violation.subject,
                    "detail": violation.message,
                },
            )
        self.results.ran(report.counts, now)
        log.info(
            "audit finished",
            extra={
                "event": "audit.finished",
                "violations": len(report.violations),
                "orders": len(orders),
                "payments": len(payments),
                "products": len(products),
            },
        )
        self.last = report
        return report
