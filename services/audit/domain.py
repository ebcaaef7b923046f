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

Every rule but ``stock_conserved`` is about one saga at a time: its order, its charges, its reservation. So
the audit reads the shop a range of sagas at a time, in keyset pages (``services.common.contract.KeysetQuery``),
and holds one range, never the whole shop: a page of orders by saga id sets the range, then the range's
payments and reservations are read, then its orders again, and :func:`check` judges that :class:`Snapshot`.
For each saga that is the order of reads of one whole snapshot (orders first and last), so the rules hold
as they did. The range's bounds come from orders and are asked of payments and products: saga ids are hex
digits (or ``order-{id}``), which every database orders alike. ``stock_conserved`` is per product, checked a
page of products at a time, each product's figures read at one moment.

:class:`AuditService` is the use case: it reads a snapshot through the :class:`StateSource` port
(``clients.py`` over HTTP; tests pass a fake), checks it, logs each violation as one ``audit.violation``
line and hands the counts to :class:`AuditEvents` (``metrics.py``). A run that cannot read a service is not
a clean run: it counts as failed and the published counts stay as they were, so an audit that lost sight of
a service never reports zero violations.
"""

from __future__ import annotations

import abc
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar

from services.common.contract import DEFAULT_AUDIT_PAGE_SIZE, utc_timestamp
from services.common.errors import DomainError, NotFound
from services.common.stock import ProductStock
from services.orders.contract import UNFINISHED, OrderStatus
from services.payments.contract import PaymentStatus
from services.products.contract import ReservationStatus

log = logging.getLogger("services.audit")

INVARIANTS = (
    "stock_conserved",
    "charge_has_confirmed_order",
    "confirmed_order_charged_once",
    "held_stock_has_unfinished_order",
    "committed_stock_has_confirmed_order",
    "order_finished_within_bound",
)

# The statuses are the services' own (their contracts): mypy holds every comparison below to them.


@dataclass(frozen=True)
class ReservationRecord:
    reservation_id: str
    status: ReservationStatus


@dataclass(frozen=True)
class PaymentRecord:
    saga_id: str
    order_id: int
    status: PaymentStatus
    amount_cents: int


@dataclass(frozen=True)
class OrderRecord:
    order_id: int
    saga_id: str
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    #: When the order entered its status (None: not known, the placing time stands for it).
    status_changed_at: datetime | None = None

    @property
    def unfinished_since(self) -> datetime:
        """Where the bound counts from: a cancel from when it was asked for, every other step from the placing."""
        if self.status == "cancelling" and self.status_changed_at is not None:
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
        if order is None or order.status != "confirmed":
            state = "no order" if order is None else f"order {order.order_id} is {order.status}"
            yield Violation("charge_has_confirmed_order", f"saga {saga_id}", f"a completed charge, but {state}")
    for saga_id, order in orders.items():
        if order.status == "confirmed" and saga_id not in in_flight and completed[saga_id] != 1:
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
        if order is None or order.status not in (*UNFINISHED, "confirmed"):
            state = "no order" if order is None else f"order {order.order_id} is {order.status}"
            yield Violation(
                "committed_stock_has_confirmed_order", f"reservation {r.reservation_id}", f"committed, but {state}"
            )
    for saga_id, order in orders.items():
        if order.status == "confirmed" and saga_id not in in_flight and status.get(saga_id) != "committed":
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
                f"still {order.status}, unfinished since {utc_timestamp(order.unfinished_since, 'microseconds')}",
            )


# The use case -----------------------------------------------------------------------------------------------


K = TypeVar("K")
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[K, T]):
    """One keyset page of a read: its rows, and the ``after`` of the next page (None: the last)."""

    rows: Sequence[T]
    next: K | None


class StateSource(abc.ABC):
    """Where the audit reads each service's state, a page at a time: the rows whose key is after ``after`` and up
    to ``until`` (None: unbounded), in key order, at most ``limit``. Orders, payments and reservations are keyed
    by their saga, products by id."""

    @abc.abstractmethod
    def orders(self, *, after: str | None, until: str | None, limit: int) -> Page[str, OrderRecord]: ...

    @abc.abstractmethod
    def payments(self, *, after: str | None, until: str | None, limit: int) -> Page[str, PaymentRecord]: ...

    @abc.abstractmethod
    def reservations(self, *, after: str | None, until: str | None, limit: int) -> Page[str, ReservationRecord]: ...

    @abc.abstractmethod
    def stock(self, *, after: int | None, until: int | None, limit: int) -> Page[int, ProductStock]: ...


class Read(Protocol[K, T]):
    def __call__(self, *, after: K | None, until: K | None, limit: int) -> Page[K, T]: ...


def every(read: Read[K, T], *, after: K | None = None, until: K | None = None, limit: int) -> Iterator[T]:
    """Every row of ``read`` after ``after`` and up to ``until``, ``limit`` rows a page."""
    while True:
        page = read(after=after, until=until, limit=limit)
        yield from page.rows
        if page.next is None:
            return
        after = page.next


def audit(
    source: StateSource, *, now: Callable[[], datetime], bound_seconds: float, page_size: int
) -> tuple[list[Violation], Counter[str]]:
    """Every violation in the shop read through ``source``, and how many rows of each kind were read.

    Stock a page of products at a time, then the sagas a range at a time (module docstring); ``now`` is read
    after each range, so only that range is ever held.
    """
    read: Counter[str] = Counter()
    violations: list[Violation] = []
    for product in every(source.stock, limit=page_size):
        read["products"] += 1
        violations += _stock([product])
    after: str | None = None
    while True:
        orders = source.orders(after=after, until=None, limit=page_size)
        until = orders.next  # the range is (after, until]; None: to the last saga
        payments = list(every(source.payments, after=after, until=until, limit=page_size))
        reservations = list(every(source.reservations, after=after, until=until, limit=page_size))
        again = list(every(source.orders, after=after, until=until, limit=page_size))
        snapshot = Snapshot(orders.rows, payments, (), reservations, again)
        violations += check(snapshot, now=now(), bound_seconds=bound_seconds)
        read.update(orders=len(orders.rows), payments=len(payments), reservations=len(reservations))
        if until is None:
            return violations, read
        after = until


class AuditEvents(abc.ABC):
    """Told how each run ended: the port :class:`services.audit.metrics.AuditMetrics` implements."""

    @abc.abstractmethod
    def ran(self, violations: dict[str, int], at: datetime) -> None:
        """A run completed at ``at`` and found ``violations`` (invariant -> count)."""

    @abc.abstractmethod
    def failed(self) -> None:
        """A run could not read every page it needed (nothing of it was published)."""


class NoReport(NotFound, code="no_report"):
    """No audit run has completed yet: there is no report to show."""


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
    events: AuditEvents
    _: KW_ONLY
    bound_seconds: float
    page_size: int = DEFAULT_AUDIT_PAGE_SIZE
    clock: Callable[[], datetime] = utcnow
    last: Report | None = field(default=None, init=False)

    def run(self) -> Report:
        """Read, check and publish; raises the reading error (after counting the run as failed: nothing of a run
        that could not read every page is published)."""
        try:
            violations, read = audit(
                self.source, now=self.clock, bound_seconds=self.bound_seconds, page_size=self.page_size
            )
        except DomainError as exc:
            self.events.failed()
            log.warning("audit could not read a service", extra={"event": "audit.failed", "error_code": exc.code})
            raise
        report = Report(self.clock(), violations)
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
        self.events.ran(report.counts, report.at)
        log.info(
            "audit finished",
            extra={
                "event": "audit.finished",
                "violations": len(report.violations),
                "orders": read["orders"],
                "payments": read["payments"],
                "products": read["products"],
            },
        )
        self.last = report
        return report

    def last_report(self) -> Report:
        """The report of the last completed :meth:`run`; :class:`NoReport` before the first."""
        if self.last is None:
            raise NoReport("No audit run has completed yet.")
        return self.last
