"""An in-memory implementation of the products domain's storage port."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

from services.common.stock import ProductStock
from services.products import domain
from tests.support.paging import keyset_page

#: The update time the fake gives every reservation (it keeps no clock).
UPDATED_AT = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@dataclass
class Row:
    product: domain.Product
    deleted: bool = False
    restocked: int = 0
    initial_stock: int = 0


class FakeTransaction(domain.Transaction):
    def __init__(self, repo: FakeRepository) -> None:
        self.repo = repo

    def _live(self, product_id: int) -> Row | None:
        row = self.repo.rows.get(product_id)
        return row if row is not None and not row.deleted else None

    def list_products(self, limit: int, offset: int) -> tuple[list[domain.Product], int]:
        live = [row.product for _, row in sorted(self.repo.rows.items()) if not row.deleted]
        return live[offset : offset + limit], len(live)

    def count_all_products(self) -> int:
        return len(self.repo.rows)

    def get_product(self, product_id: int) -> domain.Product | None:
        row = self._live(product_id)
        return row.product if row else None

    def get_products(self, product_ids: Iterable[int]) -> dict[int, domain.Product]:
        return {pid: row.product for pid in product_ids if (row := self._live(pid))}

    def add_product(self, product: domain.NewProduct) -> domain.Product:
        if any(row.product.sku == product.sku for row in self.repo.rows.values()):
            raise domain.SkuTaken(f"The sku {product.sku!r} is already in use.")
        new_id = len(self.repo.rows) + 1
        stored = domain.Product(new_id, **asdict(product))
        self.repo.rows[new_id] = Row(stored, initial_stock=product.stock)
        return stored

    def update_product(self, product_id: int, changes: domain.ProductChanges) -> bool:
        row = self._live(product_id)
        if row is None:
            return False
        row.product = replace(row.product, **asdict(changes))
        return True

    def delete_product(self, product_id: int) -> bool:
        row = self._live(product_id)
        if row is None:
            return False
        row.deleted = True
        return True

    def take_stock(self, product_id: int, quantity: int) -> bool:
        row = self._live(product_id)
        if row is None or row.product.stock < quantity:
            return False
        row.product = replace(row.product, stock=row.product.stock - quantity)
        return True

    def add_stock(self, product_id: int, quantity: int) -> None:
        row = self.repo.rows[product_id]
        row.product = replace(row.product, stock=row.product.stock + quantity)

    def restock(self, product_id: int, quantity: int) -> None:
        self.add_stock(product_id, quantity)
        self.repo.rows[product_id].restocked += quantity

    def audit_stock(self, *, after: int | None, until: int | None, limit: int) -> list[ProductStock]:
        def quantity(product_id: int, status: str) -> int:
            return sum(
                item.quantity
                for reservation in self.repo.reservations.values()
                if reservation.status == status
                for item in reservation.items
                if item.product_id == product_id
            )

        page = keyset_page(self.repo.rows.items(), lambda item: item[0], after=after, until=until, limit=limit)
        return [
            ProductStock(pid, row.product.stock, row.initial_stock, row.restocked, quantity(pid, "held"),
                        quantity(pid, "committed"))
            for pid, row in page
        ]  # fmt: skip

    def audit_reservations(self, *, after: str | None, until: str | None, limit: int) -> list[domain.ReservationState]:
        page = keyset_page(
            self.repo.reservations.values(), lambda r: r.reservation_id, after=after, until=until, limit=limit
        )
        return [domain.ReservationState(r.reservation_id, r.status, UPDATED_AT) for r in page]

    def stock_levels(self, product_ids: Iterable[int]) -> dict[int, int]:
        return {pid: row.product.stock for pid in product_ids if (row := self._live(pid))}

    def add_reservation(self, reservation: domain.Reservation) -> None:
        if reservation.reservation_id in self.repo.reservations:
            raise domain.ReservationExists(reservation.reservation_id)
        self.repo.reservations[reservation.reservation_id] = reservation

    def get_reservation(self, reservation_id: str) -> domain.Reservation | None:
        return self.repo.reservations.get(reservation_id)

    def set_reservation_status(self, reservation_id: str, from_status: str, to_status: str) -> bool:
        reservation = self.repo.reservations.get(reservation_id)
        if reservation is None or reservation.status != from_status:
            return False
        self.repo.reservations[reservation_id] = replace(reservation, status=to_status)
        return True

    def held_since(self, cutoff: datetime) -> list[str]:
        """Every reservation was created at :data:`UPDATED_AT` (the fake keeps no clock)."""
        return [r.reservation_id for r in self.repo.reservations.values() if r.status == "held" and cutoff > UPDATED_AT]


class FakeRepository(domain.ProductRepository):
    """Transactions run one at a time (like SQLite's BEGIN IMMEDIATE); one that raises leaves no trace."""

    transaction_class = FakeTransaction

    def __init__(self) -> None:
        self.rows: dict[int, Row] = {}
        self.reservations: dict[str, domain.Reservation] = {}
        self.committed = 0
        self.rolled_back = 0
        self._lock = threading.RLock()

    @contextmanager
    def atomic(self) -> Iterator[FakeTransaction]:
        with self._lock:
            snapshot = copy.deepcopy((self.rows, self.reservations))
            try:
                yield self.transaction_class(self)
            except BaseException:
                self.rows, self.reservations = snapshot
                self.rolled_back += 1
                raise
            self.committed += 1

    # helpers for tests

    def add(
        self, sku: str = "SKU-1", *, stock: int = 10, price_cents: int = 1000, name: str | None = None
    ) -> domain.Product:
        with self.atomic() as tx:
            return tx.add_product(
                domain.NewProduct(sku=sku, name=name or sku.title(), price_cents=price_cents, stock=stock)
            )

    def stock(self, product_id: int) -> int:
        return self.rows[product_id].product.stock
