"""The audit's test helpers: an in-memory :class:`~services.audit.domain.StateSource`, the audit service as a
process over a running shop, and a charge broken by hand for it to find."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, text

from services.audit.domain import OrderRecord, Page, PaymentRecord, ReservationRecord, StateSource
from services.common import contract
from services.common.errors import DomainError
from services.common.stock import ProductStock
from tests.support.otlp import exporting_to
from tests.support.paging import keyset_page
from tests.support.procs import Service
from tests.support.shop import JWT_SECRET, Shop

T = TypeVar("T")


@dataclass
class FakeStateSource(StateSource):
    """The shop's state as lists the test edits, read in keyset pages as the services answer them; ``failing`` is
    raised by every read while it is set, ``reads`` lists the pages asked for as (read, after, until)."""

    order_rows: list[OrderRecord] = field(default_factory=list)
    payment_rows: list[PaymentRecord] = field(default_factory=list)
    product_rows: list[ProductStock] = field(default_factory=list)
    reservation_rows: list[ReservationRecord] = field(default_factory=list)
    failing: DomainError | None = None
    reads: list[tuple[str, Any, Any]] = field(default_factory=list)

    def _page(
        self, read: str, rows: Sequence[T], key: Callable[[T], Any], after: Any, until: Any, limit: int
    ) -> Page[Any, T]:
        self.reads.append((read, after, until))
        if self.failing is not None:
            raise self.failing
        page, following = contract.keyset_page(
            keyset_page(rows, key, after=after, until=until, limit=limit + 1), limit, key
        )
        return Page(page, following)

    def orders(self, *, after: str | None, until: str | None, limit: int) -> Page[str, OrderRecord]:
        return self._page("orders", self.order_rows, lambda o: o.saga_id, after, until, limit)

    def payments(self, *, after: str | None, until: str | None, limit: int) -> Page[str, PaymentRecord]:
        return self._page("payments", self.payment_rows, lambda p: p.saga_id, after, until, limit)

    def reservations(self, *, after: str | None, until: str | None, limit: int) -> Page[str, ReservationRecord]:
        return self._page("reservations", self.reservation_rows, lambda r: r.reservation_id, after, until, limit)

    def stock(self, *, after: int | None, until: int | None, limit: int) -> Page[int, ProductStock]:
        return self._page("stock", self.product_rows, lambda p: p.product_id, after, until, limit)


@contextlib.contextmanager
def declined_charge_turned_completed(payments_database_url: str, saga_id: str) -> Iterator[None]:
    """The declined charge of saga ``saga_id`` made ``completed`` by hand in the payments database, then put back.

    A completed charge whose order failed is money taken for nothing: the audit must report it as
    ``charge_has_confirmed_order`` while it lasts.
    """
    engine = create_engine(payments_database_url)
    try:
        with engine.begin() as connection:
            changed = connection.execute(
                text("UPDATE payments SET status = 'completed', decline_code = NULL WHERE saga_id = :saga"),
                {"saga": saga_id},
            ).rowcount
        assert changed == 1, f"saga {saga_id} has no payment"
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE payments SET status = 'declined', decline_code = 'card_declined' WHERE saga_id = :saga"),
                {"saga": saga_id},
            )
        engine.dispose()


def start_audit(
    shop: Shop,
    log_path: Path,
    *,
    interval_seconds: float,
    otlp_endpoint: str,
    extra_env: Mapping[str, str] | None = None,
    start_timeout: float = 20.0,
) -> Service:
    """The audit service as a gunicorn process reading ``shop``'s orders, payments and products; ``extra_env`` is
    laid over its environment (other ``*_URL``s: a replicated shop's proxies)."""
    env = {f"{name.upper()}_URL": shop.services[name].url for name in ("orders", "payments", "products")} | {
        "AUDIT_INTERVAL_SECONDS": str(interval_seconds),
        "TIENDA_ENV": "test",
        "JWT_SECRET": JWT_SECRET,  # required outside development, though the audit checks no token
        **exporting_to(otlp_endpoint),
    }
    return Service(
        "services.audit.app:create_app()",
        env={**env, **(extra_env or {})},
        log_path=log_path,
        start_timeout=start_timeout,
    )
