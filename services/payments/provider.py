"""The simulated card network: an external system with its own ledger, keyed by the merchant's idempotency key.

Real acquirers take an idempotency key with every authorization and remember what they answered under it, so a
merchant that lost the answer (a crash, a timeout) can ask again without charging twice. :class:`SimulatedProvider`
does the same with a :class:`Ledger`: the first authorization of a key decides (by the test cards below) and is
recorded; any later authorization of that key answers the recorded outcome, whatever card or amount it brings,
and captures nothing more. :meth:`~SimulatedProvider.lookup` answers what happened to a key (None: never seen),
and :meth:`~SimulatedProvider.cancel` closes a key never authorized, so an authorization still on its way is
refused (:class:`~services.payments.domain.Voided`) instead of captured after the merchant gave up on it.

Recording is insert-if-absent on the key (a primary key), so two authorizations of one key racing in two
processes record one outcome and both answer it.

Test cards: 4242424242424242 approves, 4000000000000002 declines (``card_declined``), 4000000000009995 declines
(``insufficient_funds``); any other valid card approves.

The ledger lives in the payments database for convenience (table ``provider_authorizations``, its own metadata:
payments' code never reads it except through this module), :class:`SqlLedger`; :class:`MemoryLedger` keeps it in
the process for unit tests.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import BigInteger, DateTime, String, Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.cards import Card
from services.common.contract import CURRENCY
from services.common.db import Database, one_of, schema_metadata

from .contract import DECLINE_CODES
from .domain import Approval, Decline, Money, Outcome, PaymentProvider, Voided

CARD_DECLINED, INSUFFICIENT_FUNDS = DECLINE_CODES
#: What the simulated network answers for a key (the only values its ledger's CHECK lets in).
OUTCOMES = ("approved", "declined", "voided")
APPROVED, DECLINED, VOIDED = OUTCOMES


@dataclass(frozen=True)
class Entry:
    """What the network answered under a key (``voided``: cancelled before any authorization)."""

    outcome: str
    decline_code: str | None
    amount_cents: int
    currency: str

    @classmethod
    def of(cls, outcome: Outcome, amount: Money) -> Entry:
        if isinstance(outcome, Approval):
            return cls(APPROVED, None, amount.cents, amount.currency)
        if isinstance(outcome, Decline):
            return cls(DECLINED, outcome.code, amount.cents, amount.currency)
        return cls(VOIDED, None, amount.cents, amount.currency)

    def answer(self) -> Outcome:
        if self.outcome == APPROVED:
            return Approval()
        if self.outcome == DECLINED and self.decline_code is not None:
            return Decline(self.decline_code)
        return Voided()


class Ledger(ABC):
    """The network's record of keys; each method is atomic on its own."""

    @abstractmethod
    def find(self, key: str) -> Entry | None: ...

    @abstractmethod
    def record(self, key: str, entry: Entry) -> Entry:
        """Store ``entry`` under ``key`` unless the key has one already; the key's entry either way."""


class MemoryLedger(Ledger):
    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def find(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def record(self, key: str, entry: Entry) -> Entry:
        with self._lock:
            return self.entries.setdefault(key, entry)


class LedgerBase(DeclarativeBase):
    metadata = schema_metadata()


class AuthorizationRow(LedgerBase):
    __tablename__ = "provider_authorizations"
    __table_args__ = (one_of("outcome", OUTCOMES),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))
    decline_code: Mapped[str | None] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


AUTHORIZATIONS = cast(Table, AuthorizationRow.__table__)
# Built once, run with parameters: every charge records its key (see services/payments/store.py for why).
_RECORD = insert(AUTHORIZATIONS)
_FIND = select(AUTHORIZATIONS).where(AUTHORIZATIONS.c.key == bindparam("b_key"))


class SqlLedger(Ledger):
    def __init__(self, db: Database) -> None:
        self.db = db

    def find(self, key: str) -> Entry | None:
        with self.db.transaction() as connection:
            row = connection.execute(_FIND, {"b_key": key}).one_or_none()
            return None if row is None else Entry(row.outcome, row.decline_code, row.amount_cents, row.currency)

    def record(self, key: str, entry: Entry) -> Entry:
        try:
            with self.db.transaction() as connection:
                connection.execute(_RECORD, {"key": key, "created_at": datetime.now(UTC), **asdict(entry)})
        except IntegrityError:  # the key was recorded first by another authorization or a cancel
            found = self.find(key)
            if found is None:  # some other constraint failed
                raise
            return found
        return entry


class SimulatedProvider(PaymentProvider):
    """The test cards of the contract, answered once per key and remembered in ``ledger``."""

    DECLINES = {"4000000000000002": CARD_DECLINED, "4000000000009995": INSUFFICIENT_FUNDS}

    def __init__(self, ledger: Ledger | None = None) -> None:
        self.ledger = MemoryLedger() if ledger is None else ledger

    def authorize(self, key: str, card: Card, amount: Money) -> Outcome:
        # Recording is insert-if-absent and answers the key's first entry, so a repeat needs no look-up before.
        code = self.DECLINES.get(card.number)
        decided: Outcome = Decline(code) if code else Approval()
        return self.ledger.record(key, Entry.of(decided, amount)).answer()

    def lookup(self, key: str) -> Outcome | None:
        known = self.ledger.find(key)
        return None if known is None else known.answer()

    def cancel(self, key: str) -> Outcome:
        return self.ledger.record(key, Entry(VOIDED, None, 0, CURRENCY)).answer()
