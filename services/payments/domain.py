"""Payments business rules: card checks, the provider and repository ports, charge and refund.

Plain Python: no Flask, no SQL. The HTTP layer (``api.py``) parses requests and calls :class:`PaymentService`;
storage (``store.py``) implements :class:`PaymentRepository`; the card network is behind
:class:`PaymentProvider`, simulated by :class:`services.payments.provider.SimulatedProvider` and its test cards.

Charging is idempotent per saga (the random id orders gives each checkout, never a database id) and never
charges twice, even when duplicate requests for one saga arrive at the same time:

1. the card and amount are checked; nothing is stored when they are invalid;
2. the payment is inserted with status ``processing``; ``saga_id`` is unique, so only one request can
   insert it. A duplicate sees :class:`DuplicateSaga` and answers with the stored outcome instead
   (or ``payment_in_progress`` while the first request is still at the provider);
3. only the request that inserted the row asks the provider, under the saga id as the provider's idempotency
   key, then settles the row as ``completed`` or ``declined``.

If the provider call raises, or the process dies before it settles, the row stays ``processing`` and repeats
answer ``payment_in_progress``: without an answer from the provider we cannot know whether the card was charged,
so the service refuses to risk a second charge. :meth:`PaymentService.reconcile` (run periodically) then asks the
provider what it did under that key and settles the row from the answer, or, when the provider never saw the key,
cancels the key there and voids the row: nothing stays ``processing`` for longer than the reconciler's bound.

Only the card's brand and last four digits are ever stored or reported; :class:`Card` keeps the number
and CVC out of its ``repr`` so they cannot reach a log line by accident.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.common.cards import Card, parse_card
from services.common.contract import CURRENCIES, MAX_ID, utc_timestamp
from services.common.errors import Conflict, InvalidInput, NotFound, PaymentDeclined

from .contract import DECLINE_CODES, MAX_AMOUNT_CENTS, MIN_AMOUNT_CENTS, STATUSES, PaymentOut, PaymentQuery

PROCESSING, COMPLETED, DECLINED, REFUNDED, VOIDED = STATUSES
#: What the reconciler did with a payment left ``processing`` (``tienda_payments_reconciled_total{outcome}``).
RECONCILED = (COMPLETED, DECLINED, VOIDED)
CARD_DECLINED, INSUFFICIENT_FUNDS = DECLINE_CODES


# Errors ---------------------------------------------------------------------------------------------------


class PaymentNotFound(NotFound, code="payment_not_found"):
    """No payment has this id."""


class OrderAlreadyCharged(Conflict, code="order_already_charged"):
    """The saga already has a payment, for another order or another amount."""


class PaymentInProgress(Conflict, code="payment_in_progress"):
    """A charge for this saga is still ``processing``; the caller retries later."""


class NotRefundable(Conflict, code="not_refundable"):
    """Only a completed payment can be refunded."""


class PaymentVoided(Conflict, code="payment_voided"):
    """The order gave up on this payment: it is voided, or its charge, approved too late, was refunded."""


class CardDeclined(PaymentDeclined):
    """The provider declined the charge: 402 under the decline code, with the declined payment as the API shows
    it in ``details`` (``{"payment": ...}``), so the caller sees what was stored."""

    def __init__(self, payment: Payment) -> None:
        details = {"payment": payment.to_dict()}
        super().__init__("The card was declined.", code=payment.decline_code, details=details)
        self.payment = payment


class DuplicateSaga(Exception):
    """Raised by :meth:`PaymentRepository.add` when the saga already has a payment (``existing``)."""

    def __init__(self, existing: Payment) -> None:
        super().__init__(f"saga {existing.saga_id} already has payment {existing.id}")
        self.existing = existing


# Cards ----------------------------------------------------------------------------------------------------


def check_charge(order_id: int, amount_cents: int, currency: str) -> None:
    """Order id a positive integer, amount 1..100 000 000 integer cents, currency one of ``CURRENCIES``."""
    problems: list[dict[str, str]] = []
    if not _is_int(order_id) or not 1 <= order_id <= MAX_ID:
        problems.append({"field": "order_id", "message": "The order id must be a positive integer."})
    if not _is_int(amount_cents) or not MIN_AMOUNT_CENTS <= amount_cents <= MAX_AMOUNT_CENTS:
        problems.append(
            {"field": "amount_cents", "message": f"The amount must be {MIN_AMOUNT_CENTS} to {MAX_AMOUNT_CENTS} cents."}
        )
    if currency not in CURRENCIES:
        problems.append({"field": "currency", "message": f"The currency must be {' or '.join(CURRENCIES)}."})
    if problems:
        raise InvalidInput("The charge is invalid.", details=problems)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# Payments -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Money:
    cents: int
    currency: str


@dataclass(frozen=True)
class NewPayment:
    saga_id: str
    order_id: int
    amount_cents: int
    currency: str
    card_brand: str
    card_last4: str


@dataclass(frozen=True)
class Payment:
    id: int
    saga_id: str
    order_id: int
    status: str
    amount_cents: int
    currency: str
    card_brand: str
    card_last4: str
    decline_code: str | None
    created_at: datetime
    #: A void arrived while the payment was at the provider: whoever settles it refunds it.
    void_requested: bool = False
    #: When the status last changed (None only for payments not read from storage).
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The payment as the API shows it: a :class:`~services.payments.contract.PaymentOut`."""
        return PaymentOut.model_validate({**vars(self), "created_at": utc_timestamp(self.created_at)}).model_dump()

    def event_data(self) -> dict[str, object]:
        """What the payment's events carry, and its log lines name: its ids, amount and currency."""
        return {
            "payment_id": self.id,
            "order_id": self.order_id,
            "saga_id": self.saga_id,
            "amount_cents": self.amount_cents,
            "currency": self.currency,
        }


@dataclass(frozen=True)
class Charge:
    """The payment a charge request ends with; ``created`` is False for a repeat of an earlier charge."""

    payment: Payment
    created: bool


# Ports ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Approval:
    """The provider accepted the charge."""


@dataclass(frozen=True)
class Decline:
    """The provider refused the charge; ``code`` is one of :data:`DECLINE_CODES`."""

    code: str

    def __post_init__(self) -> None:
        if self.code not in DECLINE_CODES:
            raise ValueError(f"unknown decline code {self.code!r}")


@dataclass(frozen=True)
class Voided:
    """The provider never authorized the key and never will: it was cancelled first."""


#: What the provider answers for a key.
Outcome = Approval | Decline | Voided


class PaymentProvider(ABC):
    """The card network / acquirer that authorizes charges, idempotent per key (the payment's saga id)."""

    @abstractmethod
    def authorize(self, key: str, card: Card, amount: Money) -> Outcome:
        """Authorize and capture once per ``key``: a repeat answers the first outcome and captures nothing more;
        a cancelled key answers :class:`Voided`."""

    @abstractmethod
    def lookup(self, key: str) -> Outcome | None:
        """What the provider did with ``key``; None when it never saw it."""

    @abstractmethod
    def cancel(self, key: str) -> Outcome:
        """Make sure ``key`` is never authorized from now on; its outcome (an earlier authorization's, if any)."""


class PaymentRepository(ABC):
    """Storage of payments; each method is its own transaction."""

    @abstractmethod
    def add(self, new: NewPayment) -> Payment:
        """Store a ``processing`` payment; :class:`DuplicateSaga` when the saga already has one."""

    @abstractmethod
    def get(self, payment_id: int) -> Payment | None: ...

    @abstractmethod
    def for_saga(self, saga_id: str) -> Payment | None: ...

    @abstractmethod
    def for_order(self, order_id: int) -> list[Payment]:
        """Every payment made for an order id, oldest first (one per saga that used the id)."""

    @abstractmethod
    def audit_page(self, *, after: str | None, until: str | None, limit: int) -> list[Payment]:
        """Up to ``limit`` payments by saga key, those after ``after`` and up to ``until`` (None: no bound): one page
        of the integrity audit's read (``services.common.contract.KeysetQuery``)."""

    @abstractmethod
    def add_void(self, saga_id: str) -> Payment:
        """Store a ``voided`` tombstone (amount 0) for a saga never charged; :class:`DuplicateSaga` when the saga
        has a payment already."""

    @abstractmethod
    def request_void(self, payment_id: int) -> bool:
        """Mark a ``processing`` payment void-requested; False when it is no longer ``processing``."""

    @abstractmethod
    def settle(self, payment_id: int, status: str, decline_code: str | None) -> Payment | None:
        """Move a ``processing`` payment to ``completed``, ``declined`` or ``voided``; None when it was no longer
        ``processing`` (someone else settled it)."""

    @abstractmethod
    def processing_since(self, cutoff: datetime) -> list[Payment]:
        """The payments still ``processing`` that were created before ``cutoff``, oldest first."""

    @abstractmethod
    def refund(self, payment_id: int) -> Payment | None:
        """Move a ``completed`` payment to ``refunded`` atomically; None when it was not ``completed``."""


class PaymentEvents(ABC):
    """Told once about each outcome, by the request that caused it (metrics and event log lines): the port
    :class:`services.payments.metrics.PaymentMetrics` implements."""

    @abstractmethod
    def approved(self, payment: Payment) -> None: ...

    @abstractmethod
    def declined(self, payment: Payment) -> None: ...

    @abstractmethod
    def refunded(self, payment: Payment) -> None: ...

    @abstractmethod
    def reconciled(self, payment: Payment, outcome: str) -> None:
        """The reconciler settled a payment left ``processing``: ``outcome`` is one of :data:`RECONCILED`."""


def utc_today() -> date:
    return datetime.now(UTC).date()


# Service --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentService:
    """Charge, refund and look up payments."""

    repository: PaymentRepository
    provider: PaymentProvider
    events: PaymentEvents
    today: Callable[[], date] = utc_today

    def charge(
        self, saga_id: str, order_id: int, amount_cents: int, currency: str, number: str, expiry: str, cvc: str
    ) -> Charge:
        """Charge the card once for ``saga_id``; a repeat returns the stored outcome.

        Raises:
            InvalidInput, InvalidCard: nothing was stored or charged.
            OrderAlreadyCharged: the saga was charged for another order, amount or currency.
            PaymentInProgress: another request for the saga is still at the provider.
        """
        check_charge(order_id, amount_cents, currency)
        card = parse_card(number, expiry, cvc, self.today())
        # Insert first: the unique saga id answers whether this is a repeat (or a concurrent duplicate), so the
        # first charge of a saga, by far the most common, is one statement, not a read then a write.
        try:
            pending = self.repository.add(NewPayment(saga_id, order_id, amount_cents, currency, card.brand, card.last4))
        except DuplicateSaga as duplicate:
            return Charge(_replay(duplicate.existing, order_id, amount_cents, currency), created=False)
        return Charge(self._authorize(pending, card), created=True)

    def charge_or_decline(
        self, saga_id: str, order_id: int, amount_cents: int, currency: str, number: str, expiry: str, cvc: str
    ) -> Charge:
        """:meth:`charge`, with a declined outcome (the first charge's, or a repeat's) raised as :class:`CardDeclined`:
        what the HTTP route answers. The declined payment is stored all the same."""
        result = self.charge(saga_id, order_id, amount_cents, currency, number, expiry, cvc)
        if result.payment.status == DECLINED:
            raise CardDeclined(result.payment)
        return result

    def _authorize(self, pending: Payment, card: Card) -> Payment:
        """Ask the provider (only the request that inserted ``pending`` gets here) and settle the payment.

        If the provider raises, the payment stays ``processing`` until :meth:`reconcile` asks the provider by key.
        """
        outcome = self.provider.authorize(pending.saga_id, card, Money(pending.amount_cents, pending.currency))
        payment = self._settle(pending, outcome)
        if payment is None:  # the reconciler settled it first, from the provider's own record
            current = self.repository.get(pending.id) or pending
            payment = _replay(current, current.order_id, current.amount_cents, current.currency)
        elif payment.status in (REFUNDED, VOIDED) or payment.void_requested:
            raise PaymentVoided("The order gave up on this payment; it has been refunded or voided.")
        return payment

    def _settle(self, pending: Payment, outcome: Outcome) -> Payment | None:
        """Store the provider's ``outcome`` of a ``processing`` payment, told once to the events; an approved payment
        whose order gave up meanwhile (void requested) is refunded at once. None when the payment was no longer
        ``processing``: whoever settled it told the events."""
        if isinstance(outcome, Approval):
            payment = self.repository.settle(pending.id, COMPLETED, None)
            if payment is not None:
                self.events.approved(payment)
                if payment.void_requested:
                    refunded = self.repository.refund(payment.id)
                    if refunded is not None:
                        self.events.refunded(refunded)
                        payment = refunded
        elif isinstance(outcome, Decline):
            payment = self.repository.settle(pending.id, DECLINED, outcome.code)
            if payment is not None:
                self.events.declined(payment)
        elif isinstance(outcome, Voided):
            payment = self.repository.settle(pending.id, VOIDED, None)
        else:
            raise TypeError(f"{type(self.provider).__name__} answered {type(outcome).__name__}")
        return payment

    def reconcile(self, older_than_seconds: float, now: datetime | None = None) -> list[Payment]:
        """Settle every payment ``processing`` for longer than ``older_than_seconds`` from the provider's record of
        its key: approved → ``completed`` (refunded at once when its order gave up), declined → ``declined``,
        never seen → the key is cancelled at the provider and the payment ``voided`` (an authorization still on
        its way is then refused, never captured). Returns the payments as they ended."""
        cutoff = (now or datetime.now(UTC)) - timedelta(seconds=older_than_seconds)
        settled = []
        for pending in self.repository.processing_since(cutoff):
            outcome = self.provider.lookup(pending.saga_id)
            if outcome is None:
                outcome = self.provider.cancel(pending.saga_id)  # or what an authorization racing it recorded
            payment = self._settle(pending, outcome)
            if payment is not None:
                self.events.reconciled(payment, _reconciled(outcome))
                settled.append(payment)
        return settled

    def void(self, saga_id: str) -> Payment:
        """Make sure the saga's charge does not stick, whatever it did or will do (idempotent).

        No payment yet: a ``voided`` tombstone, so a late charge is refused and never reaches the provider.
        ``completed``: refunded. ``processing``: void requested, the request settling it refunds it.
        ``declined``, ``refunded`` or ``voided``: unchanged. Returns the payment as it then is.
        """
        while True:  # repeats only when the payment moved on meanwhile, and it moves on a bounded number of times
            existing = self.repository.for_saga(saga_id)
            if existing is None:
                try:
                    return self.repository.add_void(saga_id)
                except DuplicateSaga:  # a charge inserted it first
                    continue
            if existing.status == COMPLETED:
                refunded = self.repository.refund(existing.id)
                if refunded is not None:
                    self.events.refunded(refunded)
                    return refunded
            elif existing.status == PROCESSING:
                if existing.void_requested or self.repository.request_void(existing.id):
                    return self.repository.get(existing.id) or existing
            else:
                return existing

    def refund(self, payment_id: int) -> Payment:
        """Refund a completed payment; refunding a refunded payment again returns it unchanged.

        Raises:
            PaymentNotFound: no such payment.
            NotRefundable: the payment is not completed (declined or still processing).
        """
        if not 1 <= payment_id <= MAX_ID:
            raise PaymentNotFound("No payment has this id.")
        refunded = self.repository.refund(payment_id)
        if refunded is not None:
            self.events.refunded(refunded)
            return refunded
        current = self.repository.get(payment_id)
        if current is None:
            raise PaymentNotFound("No payment has this id.")
        if current.status == REFUNDED:
            return current
        raise NotRefundable(f"Only a completed payment can be refunded; this one is {current.status}.")

    def list_payments(self, query: PaymentQuery) -> list[Payment]:
        """The payments ``query`` asks for: an order id's (:meth:`for_order`) or a saga's (:meth:`for_saga`); the query
        holds exactly one of the two."""
        if query.order_id is not None:
            return self.for_order(query.order_id)
        return [] if query.saga_id is None else self.for_saga(query.saga_id)

    def for_order(self, order_id: int) -> list[Payment]:
        """The payments made for an order id (one per saga that used it)."""
        return self.repository.for_order(order_id)

    def audit_payments(self, *, after: str | None, until: str | None, limit: int) -> list[Payment]:
        """One page of payments by saga key, for the integrity audit."""
        return self.repository.audit_page(after=after, until=until, limit=limit)

    def for_saga(self, saga_id: str) -> list[Payment]:
        """The payment of a saga (at most one)."""
        payment = self.repository.for_saga(saga_id)
        return [] if payment is None else [payment]


def _reconciled(outcome: Outcome) -> str:
    if isinstance(outcome, Approval):
        return COMPLETED
    return DECLINED if isinstance(outcome, Decline) else VOIDED


def _replay(existing: Payment, order_id: int, amount_cents: int, currency: str) -> Payment:
    if existing.status == VOIDED or existing.void_requested:
        raise PaymentVoided("The order gave up on this payment; it cannot be charged.")
    if (existing.order_id, existing.amount_cents, existing.currency) != (order_id, amount_cents, currency):
        raise OrderAlreadyCharged("This saga was already charged for another order or amount.")
    if existing.status == PROCESSING:
        raise PaymentInProgress("A payment for this order is being processed; retry shortly.")
    return existing
