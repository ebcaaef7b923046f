"""In-memory stand-ins for the payments ports, subclassing them as the domain sees them."""

from __future__ import annotations

import threading
from dataclasses import asdict, replace
from datetime import UTC, datetime
from itertools import count

from services.payments.domain import (
    COMPLETED,
    PROCESSING,
    REFUNDED,
    VOIDED,
    Card,
    DuplicateSaga,
    Money,
    NewPayment,
    Outcome,
    Payment,
    PaymentEvents,
    PaymentRepository,
)
from services.payments.provider import SimulatedProvider
from tests.support.paging import keyset_page

CREATED_AT = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


class FakeRepository(PaymentRepository):
    def __init__(self) -> None:
        self.rows: dict[int, Payment] = {}
        self._ids = count(1)

    def add(self, new: NewPayment) -> Payment:
        existing = self.for_saga(new.saga_id)
        if existing is not None:
            raise DuplicateSaga(existing)
        payment = Payment(
            **asdict(new), id=next(self._ids), status=PROCESSING, decline_code=None, created_at=CREATED_AT
        )
        self.rows[payment.id] = payment
        return payment

    def audit_page(self, *, after: str | None, until: str | None, limit: int) -> list[Payment]:
        page = keyset_page(self.rows.values(), lambda p: p.saga_id, after=after, until=until, limit=limit)
        return [replace(p, updated_at=CREATED_AT) for p in page]

    def add_void(self, saga_id: str) -> Payment:
        existing = self.for_saga(saga_id)
        if existing is not None:
            raise DuplicateSaga(existing)
        payment = Payment(
            id=next(self._ids), saga_id=saga_id, order_id=0, status=VOIDED, amount_cents=0, currency="EUR",
            card_brand="unknown", card_last4="", decline_code=None, created_at=CREATED_AT,
        )  # fmt: skip
        self.rows[payment.id] = payment
        return payment

    def request_void(self, payment_id: int) -> bool:
        payment = self.rows[payment_id]
        if payment.status != PROCESSING:
            return False
        self.rows[payment_id] = replace(payment, void_requested=True)
        return True

    def get(self, payment_id: int) -> Payment | None:
        return self.rows.get(payment_id)

    def for_saga(self, saga_id: str) -> Payment | None:
        return next((p for p in self.rows.values() if p.saga_id == saga_id), None)

    def for_order(self, order_id: int) -> list[Payment]:
        return [p for p in self.rows.values() if p.order_id == order_id]

    def settle(self, payment_id: int, status: str, decline_code: str | None) -> Payment | None:
        payment = self.rows[payment_id]
        if payment.status != PROCESSING:
            return None
        payment = self.rows[payment_id] = replace(payment, status=status, decline_code=decline_code)
        return payment

    def processing_since(self, cutoff: datetime) -> list[Payment]:
        return [p for p in self.rows.values() if p.status == PROCESSING and p.created_at < cutoff]

    def refund(self, payment_id: int) -> Payment | None:
        payment = self.rows.get(payment_id)
        if payment is None or payment.status != COMPLETED:
            return None
        payment = self.rows[payment_id] = replace(payment, status=REFUNDED)
        return payment


class LostRaceRepository(FakeRepository):
    """Another request's insert of the saga's payment commits just before this request's own."""

    def __init__(self, other: Payment) -> None:
        super().__init__()
        self._other = other

    def add(self, new: NewPayment) -> Payment:
        self.rows.setdefault(self._other.id, self._other)
        return super().add(new)


class RecordingEvents(PaymentEvents):
    def __init__(self) -> None:
        self.seen: list[tuple[str, Payment]] = []

    def approved(self, payment: Payment) -> None:
        self.seen.append(("approved", payment))

    def declined(self, payment: Payment) -> None:
        self.seen.append(("declined", payment))

    def refunded(self, payment: Payment) -> None:
        self.seen.append(("refunded", payment))

    def reconciled(self, payment: Payment, outcome: str) -> None:
        self.seen.append((f"reconciled {outcome}", payment))


class CountingProvider(SimulatedProvider):
    """The simulated provider (its ledger in memory), remembering the authorizations it was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Card, Money]] = []

    def authorize(self, key: str, card: Card, amount: Money) -> Outcome:
        self.calls.append((card, amount))
        return super().authorize(key, card, amount)


class FailingProvider(SimulatedProvider):
    """Every authorization raises; ``records`` says whether the network recorded it first (the answer was lost
    on the way back) or never saw it (the request was lost on the way there)."""

    def __init__(self, *, records: bool = False) -> None:
        super().__init__()
        self.calls = 0
        self.records = records

    def authorize(self, key: str, card: Card, amount: Money) -> Outcome:
        self.calls += 1
        if self.records:
            super().authorize(key, card, amount)
        raise TimeoutError("the provider did not answer")


class GatedProvider(SimulatedProvider):
    """Authorizes only once :attr:`gate` opens (a slow card network); :attr:`asked` is set when a request
    arrives, before the ledger records anything."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.asked = threading.Event()

    def authorize(self, key: str, card: Card, amount: Money) -> Outcome:
        self.asked.set()
        self.gate.wait(10)
        return super().authorize(key, card, amount)


class ConfusedProvider(SimulatedProvider):
    """Answers something that is neither an approval nor a decline."""

    def authorize(self, key: str, card: Card, amount: Money):
        return "ok"
