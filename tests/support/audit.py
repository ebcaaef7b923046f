"""An in-memory :class:`~services.audit.domain.StateSource` for the audit's tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from services.audit.domain import OrderRecord, PaymentRecord, ProductStock, ReservationRecord, StateSource
from services.common.errors import DomainError


@dataclass
class FakeStateSource(StateSource):
    """The shop's state as lists the test edits; ``failing`` is raised by every read while it is set."""

    order_rows: list[OrderRecord] = field(default_factory=list)
    payment_rows: list[PaymentRecord] = field(default_factory=list)
    product_rows: list[ProductStock] = field(default_factory=list)
    reservation_rows: list[ReservationRecord] = field(default_factory=list)
    failing: DomainError | None = None

    def _check(self) -> None:
        if self.failing is not None:
            raise self.failing

    def orders(self) -> Sequence[OrderRecord]:
        self._check()
        return list(self.order_rows)

    def payments(self) -> Sequence[PaymentRecord]:
        self._check()
        return list(self.payment_rows)

    def stock(self) -> tuple[Sequence[ProductStock], Sequence[ReservationRecord]]:
        self._check()
        return list(self.product_rows), list(self.reservation_rows)
