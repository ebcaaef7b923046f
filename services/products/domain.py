"""Catalog and stock rules of the products service: plain Python, no Flask, no SQL.

Storage is the :class:`ProductRepository` port. Every operation runs inside ``repository.atomic()``, one
transaction that commits when the block ends and rolls back when it raises; the store implements it with
SQLAlchemy, the unit tests with an in-memory fake.

Stock is never oversold because the only way to take it is :meth:`Transaction.take_stock`, a conditional
decrement (``stock = stock - q WHERE stock >= q``) whose answer says whether it happened. A reservation is
all or nothing: its row is inserted first (its id is the primary key, so a concurrent duplicate fails
there), then every item's stock is taken in ``product_id`` order (two reservations never wait on each
other's rows in opposite orders); a single miss rolls the whole transaction back.

Reservation life cycle::

    held ──commit──▶ committed ──return──▶ returned   (stock given back: order cancelled)
      └───release──▶ released                         (stock given back: saga compensation, or the TTL)

A reservation still ``held`` after the TTL (longer than any checkout takes) was abandoned by its order:
:meth:`ProductService.expire_held` releases it and gives its stock back, and a later commit of it answers 409
``reservation_released`` so the order compensates. Only ``held`` expires; committed stock is never taken back.

Each transition is a conditional status update (``WHERE status = <from>``), so stock is given back at most
once however many callers race; repeating a transition that already happened answers the same
reservation again.
"""

from __future__ import annotations

import abc
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from services.common.contract import CURRENCY, MAX_ID, RESERVATION_ID_PATTERN
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.reservations import ReservedItem
from services.common.stock import ProductStock

from .contract import (
    INSUFFICIENT_STOCK,
    MAX_ITEMS,
    MAX_QUANTITY,
    RESERVATION_COMMITTED,
    RESERVATION_RELEASED,
    RESERVATION_RETURNED,
    STATUSES,
    DuplicateProduct,
    InsufficientStock,
    UnknownProduct,
)

log = logging.getLogger("services.products")

_RESERVATION_ID = re.compile(RESERVATION_ID_PATTERN)

HELD, COMMITTED, RELEASED, RETURNED = STATUSES
#: A held reservation released by :meth:`ProductService.expire_held` (its status is ``released``).
EXPIRED = "expired"
#: Label values of ``tienda_stock_reservations_total{outcome}``.
OUTCOMES = (HELD, INSUFFICIENT_STOCK, COMMITTED, RELEASED, RETURNED, EXPIRED)


# --- values ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewProduct:
    sku: str
    name: str
    price_cents: int
    description: str = ""
    currency: str = CURRENCY
    stock: int = 0


@dataclass(frozen=True)
class Product:
    id: int
    sku: str
    name: str
    description: str
    price_cents: int
    currency: str
    stock: int


@dataclass(frozen=True)
class ProductChanges:
    name: str
    description: str
    price_cents: int


@dataclass(frozen=True)
class Item:
    """One line of a reservation request."""

    product_id: int
    quantity: int


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    status: str
    items: tuple[ReservedItem, ...]
    total_cents: int
    currency: str


@dataclass(frozen=True)
class ReservationState:
    reservation_id: str
    status: str
    updated_at: datetime


# --- errors ---------------------------------------------------------------------------------------------


class ProductNotFound(NotFound, code="product_not_found"):
    """No product has this id (or it was deleted)."""


class SkuTaken(Conflict, code="sku_taken"):
    """Another product already has this sku."""


class ReservationNotFound(NotFound, code="reservation_not_found"):
    """No reservation has this id."""


class ReservationStateConflict(Conflict):
    """The reservation is in a state the requested transition cannot start from."""


class ReservationExists(Exception):
    """Raised by :meth:`Transaction.add_reservation` when the id is taken (a concurrent identical request)."""


class _Shortfall(Exception):
    def __init__(self, item: Item) -> None:
        super().__init__(item.product_id)
        self.item = item


#: Conflict code when a transition meets a reservation in this (unexpected) status.
_STATE_CONFLICT_CODES: dict[str, str] = {
    HELD: "reservation_not_committed",
    COMMITTED: RESERVATION_COMMITTED,
    RELEASED: RESERVATION_RELEASED,
    RETURNED: RESERVATION_RETURNED,
}


# --- the storage port ------------------------------------------------------------------------------------


class Transaction(abc.ABC):
    """The storage operations the domain needs, all inside one database transaction."""

    @abc.abstractmethod
    def list_products(self, limit: int, offset: int) -> tuple[list[Product], int]:
        """Live (not deleted) products ordered by id, and how many live products there are."""

    @abc.abstractmethod
    def count_all_products(self) -> int:
        """Every product ever created, deleted ones included."""

    @abc.abstractmethod
    def get_product(self, product_id: int) -> Product | None:
        """The live product, or None when it does not exist or was deleted."""

    @abc.abstractmethod
    def get_products(self, product_ids: Iterable[int]) -> dict[int, Product]:
        """The live products among ``product_ids``, by id."""

    @abc.abstractmethod
    def add_product(self, product: NewProduct) -> Product:
        """Insert; raises :class:`SkuTaken` when the sku is in use (deleted products keep theirs)."""

    @abc.abstractmethod
    def update_product(self, product_id: int, changes: ProductChanges) -> bool:
        """Change a live product; False when there is none."""

    @abc.abstractmethod
    def delete_product(self, product_id: int) -> bool:
        """Soft-delete a live product; False when there is none."""

    @abc.abstractmethod
    def take_stock(self, product_id: int, quantity: int) -> bool:
        """``stock = stock - quantity`` only if the product is live and has that much; whether it happened."""

    @abc.abstractmethod
    def add_stock(self, product_id: int, quantity: int) -> None:
        """``stock = stock + quantity`` (deleted products too: stock given back is never lost)."""

    @abc.abstractmethod
    def restock(self, product_id: int, quantity: int) -> None:
        """Add ``quantity`` to the stock and count it as restocked (stock given back is not a restock)."""

    @abc.abstractmethod
    def audit_stock(self, *, after: int | None, until: int | None, limit: int) -> list[ProductStock]:
        """The stock figures of up to ``limit`` products by id, those after ``after`` and up to ``until`` (None: no
        bound), each product's figures from one moment: a page of the integrity audit's read."""

    @abc.abstractmethod
    def audit_reservations(self, *, after: str | None, until: str | None, limit: int) -> list[ReservationState]:
        """The states of up to ``limit`` reservations by id, after ``after`` and up to ``until``: a page of the
        integrity audit's read (``services.common.contract.KeysetQuery``)."""

    @abc.abstractmethod
    def stock_levels(self, product_ids: Iterable[int]) -> dict[int, int]:
        """Current stock of the live products among ``product_ids``."""

    @abc.abstractmethod
    def add_reservation(self, reservation: Reservation) -> None:
        """Insert; raises :class:`ReservationExists` when the id is taken."""

    @abc.abstractmethod
    def get_reservation(self, reservation_id: str) -> Reservation | None: ...

    @abc.abstractmethod
    def set_reservation_status(self, reservation_id: str, from_status: str, to_status: str) -> bool:
        """Move the reservation from ``from_status`` to ``to_status``; False when it was not in ``from_status``."""

    @abc.abstractmethod
    def held_since(self, cutoff: datetime) -> list[str]:
        """The ids of the reservations still ``held`` that were created before ``cutoff``, oldest first."""


class ProductRepository(abc.ABC):
    """Where products and reservations live."""

    @abc.abstractmethod
    def atomic(self) -> AbstractContextManager[Transaction]:
        """A transaction: committed when the block ends normally, rolled back when it raises."""


class ProductCache(abc.ABC):
    """Where product reads may be answered from (``services.products.cache``): ``load`` reads the database."""

    @abc.abstractmethod
    def product(self, product_id: int, load: Callable[[], Product | None]) -> Product | None: ...

    @abc.abstractmethod
    def page(
        self, limit: int, offset: int, load: Callable[[], tuple[list[Product], int]]
    ) -> tuple[list[Product], int]: ...

    @abc.abstractmethod
    def invalidate(self, product_ids: Iterable[int]) -> None:
        """Forget the products ``product_ids`` and every page: they changed (called after the commit)."""


class NoCache(ProductCache):
    """Every read from the database (no ``REDIS_URL``)."""

    def product(self, product_id: int, load: Callable[[], Product | None]) -> Product | None:
        return load()

    def page(self, limit: int, offset: int, load: Callable[[], tuple[list[Product], int]]) -> tuple[list[Product], int]:
        return load()

    def invalidate(self, product_ids: Iterable[int]) -> None:
        pass


class ProductEvents(abc.ABC):
    """Told about each reservation outcome: the port :class:`services.products.metrics.ProductMetrics`
    implements."""

    @abc.abstractmethod
    def reservation_outcome(self, outcome: str) -> None:
        """A reservation request or a reservation reached ``outcome``, one of :data:`OUTCOMES`."""


class NoEvents(ProductEvents):
    def reservation_outcome(self, outcome: str) -> None:
        pass


# --- the service ------------------------------------------------------------------------------------------


_Line = TypeVar("_Line", Item, ReservedItem)
_Found = TypeVar("_Found")


def _found(product: Product | None, product_id: int) -> Product:
    if product is None:
        raise ProductNotFound(f"There is no product {product_id}.")
    return product


def _sorted(items: Iterable[_Line]) -> list[_Line]:
    return sorted(items, key=lambda item: item.product_id)


def _stock_fields(reservation: Reservation) -> dict[str, object]:
    """The log fields of a reservation's stock: its id, products and total quantity."""
    return {
        "reservation_id": reservation.reservation_id,
        "product_ids": [item.product_id for item in reservation.items],
        "quantity": sum(item.quantity for item in reservation.items),
    }


def _valid_id(product_id: int) -> bool:
    return 1 <= product_id <= MAX_ID


class ProductService:
    """The use cases of the service. ``events`` is told each reservation outcome (see :data:`OUTCOMES`).

    Catalog reads go through ``cache`` (the repository tells it what every committed change touched); stock is
    only ever taken in the database, never decided on a cached figure."""

    def __init__(
        self,
        repository: ProductRepository,
        events: ProductEvents | None = None,
        cache: ProductCache | None = None,
    ) -> None:
        self.repository = repository
        self._events = events or NoEvents()
        self.cache = NoCache() if cache is None else cache

    # catalog

    def list_products(self, limit: int, offset: int) -> tuple[list[Product], int]:
        def load() -> tuple[list[Product], int]:
            with self.repository.atomic() as tx:
                return tx.list_products(limit, offset)

        return self.cache.page(limit, offset, load)

    def get_product(self, product_id: int) -> Product:
        missing = ProductNotFound(f"There is no product {product_id}.")

        def load() -> Product | None:
            with self.repository.atomic() as tx:
                return tx.get_product(product_id)

        found = self.cache.product(product_id, load) if _valid_id(product_id) else None
        if found is None:
            raise missing
        return found

    def create_product(self, new: NewProduct) -> Product:
        if new.currency != CURRENCY:
            raise InvalidInput(f"Only {CURRENCY} prices are supported.", code="unsupported_currency")
        with self.repository.atomic() as tx:
            product = tx.add_product(new)
        log.info("product created", extra={"event": "product.created", "product_id": product.id, "sku": product.sku})
        return product

    def update_product(self, product_id: int, changes: ProductChanges) -> Product:
        with self.repository.atomic() as tx:
            if not (_valid_id(product_id) and tx.update_product(product_id, changes)):
                raise ProductNotFound(f"There is no product {product_id}.")
            product = _found(tx.get_product(product_id), product_id)
        log.info("product updated", extra={"event": "product.updated", "product_id": product_id})
        return product

    def delete_product(self, product_id: int) -> None:
        with self.repository.atomic() as tx:
            if not (_valid_id(product_id) and tx.delete_product(product_id)):
                raise ProductNotFound(f"There is no product {product_id}.")
        log.info("product deleted", extra={"event": "product.deleted", "product_id": product_id})

    def restock(self, product_id: int, quantity: int) -> Product:
        if quantity < 1:
            raise InvalidInput("The quantity must be at least 1.")
        with self.repository.atomic() as tx:
            if not _valid_id(product_id) or tx.get_product(product_id) is None:
                raise ProductNotFound(f"There is no product {product_id}.")
            tx.restock(product_id, quantity)
            product = _found(tx.get_product(product_id), product_id)
        log.info(
            "product restocked",
            extra={
                "event": "product.restocked",
                "product_id": product_id,
                "quantity": quantity,
                "stock": product.stock,
            },
        )
        return product

    def seed_catalog(self, catalog: Sequence[NewProduct]) -> int:
        """Insert ``catalog`` when no product was ever created; how many were inserted."""
        try:
            with self.repository.atomic() as tx:
                if tx.count_all_products():
                    return 0
                for product in catalog:
                    tx.add_product(product)
        except SkuTaken:  # another process seeded at the same moment
            return 0
        log.info("demo catalog seeded", extra={"event": "catalog.seeded", "products": len(catalog)})
        return len(catalog)

    # reservations

    def reserve(self, reservation_id: str, items: Sequence[Item]) -> tuple[Reservation, bool]:
        """Hold stock for every item, or for none. Returns the reservation and whether it was created now
        (False: it already existed, and is returned as it is)."""
        self._check_request(reservation_id, items)
        # The insert of the reservation row finds out whether the id is new (its primary key), so a first request,
        # by far the most common, reads nothing else first; a repeat, or a concurrent duplicate that committed
        # first, is answered from what is stored.
        try:
            with self.repository.atomic() as tx:
                products = tx.get_products(item.product_id for item in items if _valid_id(item.product_id))
                try:
                    reservation = self._price(reservation_id, items, products)
                except UnknownProduct:
                    existing = tx.get_reservation(reservation_id)  # held before its product was deleted
                    if existing is None:
                        raise
                    return self._repeated(existing), False
                tx.add_reservation(reservation)
                for item in _sorted(items):
                    if not tx.take_stock(item.product_id, item.quantity):
                        raise _Shortfall(item)  # rolls back the reservation row and the stock taken so far
        except ReservationExists:
            return self._repeated(self.get_reservation(reservation_id)), False
        except _Shortfall as shortfall:
            raise self._insufficient(reservation_id, items, shortfall.item) from None
        self._events.reservation_outcome(HELD)
        log.info(
            "stock reserved",
            extra={"event": "stock.reserved", **_stock_fields(reservation), "total_cents": reservation.total_cents},
        )
        return reservation, True

    @staticmethod
    def _repeated(existing: Reservation) -> Reservation:
        """The answer to a repeated reservation: the stored one, unless it is a release's tombstone."""
        if existing.status == RELEASED and not existing.items:
            raise ReservationStateConflict("The reservation was released before it arrived.", code=RESERVATION_RELEASED)
        return existing

    def audit_stock(self, *, after: int | None, until: int | None, limit: int) -> list[ProductStock]:
        """One page of products' stock figures by product id, for the integrity audit."""
        with self.repository.atomic() as tx:
            return tx.audit_stock(after=after, until=until, limit=limit)

    def audit_reservations(self, *, after: str | None, until: str | None, limit: int) -> list[ReservationState]:
        """One page of reservations' states by reservation id, for the integrity audit."""
        with self.repository.atomic() as tx:
            return tx.audit_reservations(after=after, until=until, limit=limit)

    def get_reservation(self, reservation_id: str) -> Reservation:
        missing = ReservationNotFound(f"There is no reservation {reservation_id!r}.")
        valid = _RESERVATION_ID.fullmatch(reservation_id) is not None
        return self._found(valid, lambda tx: tx.get_reservation(reservation_id), missing)

    def _found(self, valid: bool, read: Callable[[Transaction], _Found | None], missing: Exception) -> _Found:
        """What ``read`` finds in one transaction; ``missing`` is raised when the key is not ``valid`` (never read)
        or nothing is found."""
        found = None
        if valid:
            with self.repository.atomic() as tx:
                found = read(tx)
        if found is None:
            raise missing
        return found

    def commit(self, reservation_id: str) -> Reservation:
        """The order is confirmed: the held stock is sold."""
        return self._transition(reservation_id, HELD, COMMITTED, give_back=False)

    def release(self, reservation_id: str) -> Reservation:
        """The order failed before confirmation: the held stock goes back.

        An unknown reservation is released all the same, as a tombstone without items: the order gave up on it,
        so a create that arrives late for that id is refused (409 ``reservation_released``) and takes no stock.
        """
        try:
            return self._transition(reservation_id, HELD, RELEASED, give_back=True)
        except ReservationNotFound:
            if not _RESERVATION_ID.fullmatch(reservation_id):
                raise
        tombstone = Reservation(reservation_id, RELEASED, (), 0, CURRENCY)
        try:
            with self.repository.atomic() as tx:
                tx.add_reservation(tombstone)
        except ReservationExists:  # the create arrived meanwhile: release what it holds
            return self._transition(reservation_id, HELD, RELEASED, give_back=True)
        log.info(
            "reservation released before it arrived",
            extra={"event": "stock.released", "reservation_id": reservation_id, "stock_given_back": False},
        )
        return tombstone

    def return_stock(self, reservation_id: str) -> Reservation:
        """A confirmed order was cancelled: the sold stock goes back."""
        return self._transition(reservation_id, COMMITTED, RETURNED, give_back=True)

    def expire_held(self, ttl_seconds: float, now: datetime | None = None) -> list[Reservation]:
        """Release every reservation ``held`` for longer than ``ttl_seconds`` and give its stock back, each in its
        own transaction; one committed or released meanwhile is left as it is. Returns those released."""
        cutoff = (now or datetime.now(UTC)) - timedelta(seconds=ttl_seconds)
        with self.repository.atomic() as tx:
            stale = tx.held_since(cutoff)
        expired = []
        for reservation_id in stale:
            with self.repository.atomic() as tx:
                reservation = tx.get_reservation(reservation_id)
                if reservation is None or not self._move(tx, reservation, HELD, RELEASED, give_back=True):
                    continue
            self._events.reservation_outcome(EXPIRED)
            log.warning(
                "reservation expired",
                extra={"event": "stock.expired", **_stock_fields(reservation), "ttl_seconds": ttl_seconds},
            )
            expired.append(replace(reservation, status=RELEASED))
        return expired

    # rules

    @staticmethod
    def _check_request(reservation_id: str, items: Sequence[Item]) -> None:
        if not _RESERVATION_ID.fullmatch(reservation_id):
            raise InvalidInput("The reservation id must be 1 to 64 characters of A-Z a-z 0-9 . _ : -")
        if not 1 <= len(items) <= MAX_ITEMS:
            raise InvalidInput(f"A reservation has 1 to {MAX_ITEMS} items.")
        bad = [item for item in items if not 1 <= item.quantity <= MAX_QUANTITY or item.product_id < 1]
        if bad:
            raise InvalidInput(
                f"Product ids are positive and quantities 1 to {MAX_QUANTITY}.",
                details=[{"product_id": item.product_id, "quantity": item.quantity} for item in bad],
            )
        counts = Counter(item.product_id for item in items)
        duplicates = sorted(product_id for product_id, count in counts.items() if count > 1)
        if duplicates:
            raise DuplicateProduct(
                "Each product may appear only once in a reservation.",
                details=[{"product_id": product_id} for product_id in duplicates],
            )

    @staticmethod
    def _price(reservation_id: str, items: Sequence[Item], products: dict[int, Product]) -> Reservation:
        unknown = sorted(item.product_id for item in items if item.product_id not in products)
        if unknown:
            raise UnknownProduct(
                "Some products do not exist.", details=[{"product_id": product_id} for product_id in unknown]
            )
        lines = tuple(
            ReservedItem(
                item.product_id, products[item.product_id].name, item.quantity, products[item.product_id].price_cents
            )
            for item in items
        )
        total = sum(line.quantity * line.unit_price_cents for line in lines)
        return Reservation(reservation_id, HELD, lines, total, CURRENCY)

    def _insufficient(self, reservation_id: str, items: Sequence[Item], missed: Item) -> InsufficientStock:
        # Read after the rollback: what is there now, for the message. The item that missed is always listed.
        with self.repository.atomic() as tx:
            levels = tx.stock_levels(item.product_id for item in items)
        details = [
            {"product_id": item.product_id, "requested": item.quantity, "available": levels.get(item.product_id, 0)}
            for item in _sorted(items)
            if item is missed or levels.get(item.product_id, 0) < item.quantity
        ]
        self._events.reservation_outcome(INSUFFICIENT_STOCK)
        log.info(
            "stock insufficient",
            extra={
                "event": "stock.insufficient",
                "reservation_id": reservation_id,
                "product_ids": [detail["product_id"] for detail in details],
            },
        )
        return InsufficientStock("There is not enough stock for some items.", details=details)

    def _transition(self, reservation_id: str, source: str, target: str, *, give_back: bool) -> Reservation:
        if not _RESERVATION_ID.fullmatch(reservation_id):
            raise ReservationNotFound(f"There is no reservation {reservation_id!r}.")
        with self.repository.atomic() as tx:
            reservation = tx.get_reservation(reservation_id)
            if reservation is None:
                raise ReservationNotFound(f"There is no reservation {reservation_id!r}.")
            if reservation.status == target:
                return reservation  # done before: idempotent
            self._require_status(reservation, source)
            if not self._move(tx, reservation, source, target, give_back=give_back):
                # A concurrent call moved it after our read; it must have made the same move.
                current = tx.get_reservation(reservation_id)
                if current is None:
                    raise ReservationNotFound(f"There is no reservation {reservation_id!r}.")
                self._require_status(current, target)
                return current
        self._events.reservation_outcome(target)
        log.info(
            _TRANSITION_MESSAGES[target],
            extra={"event": f"stock.{target}", "reservation_id": reservation_id, "stock_given_back": give_back},
        )
        return replace(reservation, status=target)

    @staticmethod
    def _move(tx: Transaction, reservation: Reservation, source: str, target: str, *, give_back: bool) -> bool:
        """Move ``reservation`` from ``source`` to ``target`` (conditional on ``source``) and, with ``give_back``, its
        stock back in the same transaction; False when it was not in ``source`` (nothing changed)."""
        if not tx.set_reservation_status(reservation.reservation_id, source, target):
            return False
        if give_back:
            for item in _sorted(reservation.items):
                tx.add_stock(item.product_id, item.quantity)
        return True

    @staticmethod
    def _require_status(reservation: Reservation, allowed: str) -> None:
        if reservation.status != allowed:
            raise ReservationStateConflict(
                f"The reservation is {reservation.status}.", code=_STATE_CONFLICT_CODES[reservation.status]
            )


_TRANSITION_MESSAGES: dict[str, str] = {
    COMMITTED: "stock committed",
    RELEASED: "stock released",
    RETURNED: "stock returned",
}
