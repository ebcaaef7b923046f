"""Fakes of the orders ports (they subclass the real ones), sharing one journal of every call made.

``FakeInventory`` keeps stock and reservations like the products service; ``FakePayments`` knows the test
cards like the payments service; ``InMemoryOrderRepository`` stores copies, so the saga only sees what it
saved. Any call can be made to fail with :meth:`Faults.fail`, before or after it takes effect, or to run a hook
after it took effect with :meth:`Faults.then` (time passing while it answers, say).
"""

from __future__ import annotations

import collections
import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from services.common.cards import Card, InvalidCard
from services.common.db import from_row
from services.common.errors import Failure, PaymentDeclined, UpstreamFailure
from services.orders import domain
from tests.support.paging import keyset_page

APPROVE = "4242424242424242"
DECLINE = "4000000000000002"
NO_FUNDS = "4000000000009995"
BAD_LUHN = "4242424242424241"
CARD = Card(APPROVE, 12, 2030, "123")


def unavailable(service: str) -> UpstreamFailure:
    """A refused connection: the request never arrived."""
    return UpstreamFailure(service, Failure.UNREACHABLE, f"{service} refused the connection")


def timed_out(service: str) -> UpstreamFailure:
    return UpstreamFailure(service, Failure.TIMEOUT, f"{service} timed out")


class Journal(list):
    """Every call to a fake, in order, as ``(who, what)`` tuples."""

    def of(self, who: str) -> list[str]:
        return [what for w, what in self if w == who]

    def calls(self) -> list[tuple[str, str]]:
        return [(w, what) for w, what in self if w != "orders"]


@dataclass
class _Fault:
    error: Exception
    after: bool  # take effect, then fail (a timeout on the way back)
    times: int


class Faults:
    def __init__(self) -> None:
        self._faults: dict[str, _Fault] = {}
        self._hooks: dict[str, Callable[[], object]] = {}

    def then(self, operation: str, hook: Callable[[], object]) -> None:
        """Call ``hook()`` each time ``operation`` has taken effect, before it answers."""
        self._hooks[operation] = hook

    def fail(self, operation: str, error: Exception, *, after: bool = False, times: int = 1_000_000) -> None:
        """Make ``operation`` raise ``error`` (the next ``times`` calls), before or ``after`` taking effect."""
        self._faults[operation] = _Fault(error, after, times)

    def heal(self, operation: str | None = None) -> None:
        if operation is None:
            self._faults.clear()
        else:
            self._faults.pop(operation, None)

    def _fault(self, operation: str) -> _Fault | None:
        fault = self._faults.get(operation)
        if fault is None or fault.times <= 0:
            return None
        fault.times -= 1
        return fault

    def _run(self, operation: str, effect):
        fault = self._fault(operation)
        if fault is not None and not fault.after:
            raise fault.error
        result = effect()
        if operation in self._hooks:
            self._hooks[operation]()
        if fault is not None:
            raise fault.error
        return result


def faulty(service: str, operation: str):
    """A fake's method: its call is journaled as ``(service, operation)``, then it takes effect under the faults
    and hooks set for ``operation`` (:meth:`Faults.fail`, :meth:`Faults.then`)."""

    def decorate(method):
        @functools.wraps(method)
        def call(self, *args, **kwargs):
            self.journal.append((service, operation))
            return self._run(operation, lambda: method(self, *args, **kwargs))

        return call

    return decorate


@dataclass
class Product:
    name: str
    price_cents: int
    stock: int


class FakeInventory(Faults, domain.Inventory):
    def __init__(self, journal: Journal | None = None, products: dict[int, Product] | None = None) -> None:
        super().__init__()
        self.journal = journal if journal is not None else Journal()
        self.products = products if products is not None else {
            1: Product("Espresso cup", 1250, 10),
            2: Product("Milk jug", 2999, 5),
            3: Product("Grinder", 8900, 1),
        }  # fmt: skip
        self.reservations: dict[str, dict] = {}

    def stock(self, product_id: int) -> int:
        return self.products[product_id].stock

    @faulty("products", "reserve")
    def reserve(self, reservation_id: str, lines) -> domain.Reservation:
        if reservation_id in self.reservations:
            if self.reservations[reservation_id] == {"status": "released", "lines": []}:  # a tombstone
                raise UpstreamFailure("products", Failure.BAD_RESPONSE, "reservation_released")
            return self._answer(reservation_id)
        unknown = [line.product_id for line in lines if line.product_id not in self.products]
        if unknown:
            raise domain.UnknownProduct(f"Unknown products {unknown}.")
        short = [
            {"product_id": line.product_id, "requested": line.quantity, "available": self.stock(line.product_id)}
            for line in lines
            if self.stock(line.product_id) < line.quantity
        ]
        if short:
            raise domain.InsufficientStock("There is not enough stock for some items.", details=short)
        for line in lines:
            self.products[line.product_id].stock -= line.quantity
        self.reservations[reservation_id] = {"status": "held", "lines": list(lines)}
        return self._answer(reservation_id)

    def _answer(self, reservation_id: str) -> domain.Reservation:
        lines: list[domain.Line] = self.reservations[reservation_id]["lines"]
        items = tuple(
            domain.ReservedItem(line.product_id, self.products[line.product_id].name, line.quantity,
                         self.products[line.product_id].price_cents)
            for line in lines
        )  # fmt: skip
        return domain.Reservation(reservation_id, items, "EUR")

    @faulty("products", "commit")
    def commit(self, reservation_id: str) -> None:
        reservation = self.reservations[reservation_id]
        if reservation["status"] not in ("held", "committed"):
            raise UpstreamFailure("products", Failure.BAD_RESPONSE, f"reservation {reservation['status']}")
        reservation["status"] = "committed"

    @faulty("products", "release")
    def release(self, reservation_id: str) -> bool:
        """Like products: True for a release (a repeated one too, answered 200 again), False when nothing is held;
        an unknown reservation is released as a tombstone that refuses a late create."""
        reservation = self.reservations.get(reservation_id)
        if reservation is None:
            self.reservations[reservation_id] = {"status": "released", "lines": []}
            return False
        if reservation["status"] == "returned" or not reservation["lines"]:
            return False
        if reservation["status"] == "committed":
            raise domain.ReservationCommitted("committed")
        if reservation["status"] == "held":
            self._give_back(reservation, "released")
        return True

    @faulty("products", "return")
    def return_stock(self, reservation_id: str) -> bool:
        """Like products: True for a return (a repeated one too), False when nothing was committed."""
        reservation = self.reservations.get(reservation_id)
        if reservation is None or reservation["status"] == "released":
            return False
        if reservation["status"] == "held":
            raise UpstreamFailure("products", Failure.BAD_RESPONSE, "reservation_not_committed")
        if reservation["status"] == "committed":
            self._give_back(reservation, "returned")
        return True

    def _give_back(self, reservation: dict, status: str) -> None:
        for line in reservation["lines"]:
            self.products[line.product_id].stock += line.quantity
        reservation["status"] = status

    def status(self, reservation_id: str) -> str | None:
        reservation = self.reservations.get(reservation_id)
        return None if reservation is None else reservation["status"]


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in reversed(number)]
    total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    return total % 10 == 0


class FakePayments(Faults, domain.Payments):
    DECLINES = {DECLINE: "card_declined", NO_FUNDS: "insufficient_funds"}

    def __init__(self, journal: Journal | None = None) -> None:
        super().__init__()
        self.journal = journal if journal is not None else Journal()
        self.payments: dict[str, domain.Payment] = {}  # by saga id
        self.charges = 0  # charges that reached the card network
        self.settles = True  # False: charges stay processing, as when the provider has not answered yet
        self._ids = iter(range(100, 1_000_000))

    @faulty("payments", "charge")
    def charge(self, saga_id: str, order_id: int, amount_cents: int, currency: str, card: Card) -> domain.Payment:
        existing = self.payments.get(saga_id)
        if existing is not None and existing.status == "voided":
            raise UpstreamFailure("payments", Failure.BAD_RESPONSE, "payment_voided")
        if existing is not None:
            if existing.status == "declined":
                raise PaymentDeclined("declined", code=self.DECLINES.get(card.number, "card_declined"))
            return existing
        if not luhn_ok(card.number):
            raise InvalidCard("The card number is not valid.", details=[{"field": "card.number", "message": "x"}])
        self.charges += 1
        code = self.DECLINES.get(card.number)
        status = ("declined" if code else "completed") if self.settles else "processing"
        payment = domain.Payment(next(self._ids), order_id, status, amount_cents, currency)
        self.payments[saga_id] = payment
        if code:
            raise PaymentDeclined("The card was declined.", code=code)
        return payment

    @faulty("payments", "void")
    def void(self, saga_id: str) -> domain.Payment:
        """Like payments: a tombstone when the saga has no payment, completed → refunded, the rest unchanged."""
        payment = self.payments.get(saga_id)
        if payment is None:
            payment = self.payments[saga_id] = domain.Payment(next(self._ids), 0, "voided", 0, "EUR")
        elif payment.status == "completed":
            payment = self.payments[saga_id] = replace(payment, status="refunded")
        return payment

    def for_order(self, order_id: int) -> domain.Payment | None:
        """The latest payment made for ``order_id`` (one per saga that used the id)."""
        return next((p for p in reversed(self.payments.values()) if p.order_id == order_id), None)

    def status(self, order_id: int) -> str | None:
        payment = self.for_order(order_id)
        return None if payment is None else payment.status


class InMemoryOrderRepository(domain.OrderRepository):
    """Keeps copies, checks versions and the (user_id, idempotency_key) uniqueness like the SQL one."""

    def __init__(self, journal: Journal | None = None) -> None:
        self.journal = journal if journal is not None else Journal()
        self.rows: dict[int, domain.Order] = {}
        self.history: dict[int, list[str]] = {}  # statuses as saved, per order
        self._next_id = 1

    def add(self, order: domain.Order) -> domain.Order:
        if order.idempotency_key is not None and self.get_by_idempotency_key(order.user_id, order.idempotency_key):
            raise domain.DuplicateIdempotencyKey(order.idempotency_key)
        order.id = self._next_id
        order.version = 1
        self._next_id += 1
        self.rows[order.id] = copy.deepcopy(order)
        self.history[order.id] = [order.status]
        self.journal.append(("orders", order.status))
        return order

    def get(self, order_id: int) -> domain.Order | None:
        row = self.rows.get(order_id)
        return copy.deepcopy(row) if row is not None else None

    def get_by_idempotency_key(self, user_id: int, key: str) -> domain.Order | None:
        for row in self.rows.values():
            if row.user_id == user_id and row.idempotency_key == key:
                return copy.deepcopy(row)
        return None

    def save(self, order: domain.Order) -> None:
        if self.rows[order.id].version != order.version:
            raise domain.StaleOrder("stale")
        order.version += 1
        self.rows[order.id] = copy.deepcopy(order)
        self.history[order.id].append(order.status)
        self.journal.append(("orders", order.status))

    def list_for_user(self, user_id: int, *, limit: int, offset: int) -> tuple[list[domain.Order], int]:
        mine = sorted(
            (o for o in self.rows.values() if o.user_id == user_id and not o.rejected),
            key=lambda o: (o.created_at, o.id),
            reverse=True,
        )
        return [copy.deepcopy(o) for o in mine[offset : offset + limit]], len(mine)

    def audit_page(self, *, after: str | None, until: str | None, limit: int) -> list[domain.AuditedOrder]:
        page = keyset_page(self.rows.values(), lambda o: o.saga_id, after=after, until=until, limit=limit)
        return [from_row(domain.AuditedOrder, o, id=o.number) for o in page]

    def list_unfinished(self, updated_before: datetime, limit: int = 100) -> list[domain.Order]:
        rows = [o for o in self.rows.values() if o.status in domain.UNFINISHED and o.updated_at < updated_before]
        return [copy.deepcopy(o) for o in sorted(rows, key=lambda o: (o.updated_at, o.id))[:limit]]


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2030, 1, 1, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class RecordingEvents(domain.OrderEvents):
    """The domain's events port, counting what the use cases report instead of exporting it."""

    def __init__(self) -> None:
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.values: list[int] = []
        self.cancellations = 0
        self.compensations: collections.Counter[str] = collections.Counter()

    def outcome(self, outcome: domain.OrderOutcome) -> None:
        self.outcomes[outcome] += 1

    def confirmed_value(self, total_cents: int, currency: str) -> None:
        self.values.append(total_cents)

    def cancelled(self) -> None:
        self.cancellations += 1

    def compensated(self, step: str) -> None:
        self.compensations[step] += 1
