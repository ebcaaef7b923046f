"""The products domain against an in-memory repository: catalog rules, reservations, transitions."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from services.common.errors import InvalidInput
from services.products.catalog import DEMO_CATALOG
from services.products.domain import (
    MAX_ID,
    DuplicateProduct,
    InsufficientStock,
    Item,
    NewProduct,
    ProductChanges,
    ProductEvents,
    ProductNotFound,
    ProductService,
    ReservationExists,
    ReservationNotFound,
    ReservationStateConflict,
    SkuTaken,
    UnknownProduct,
)
from tests.support.fakes.products import UPDATED_AT, FakeRepository, FakeTransaction
from tests.support.products import WRONG_STATE_TRANSITIONS


@pytest.fixture
def repo():
    return FakeRepository()


class RecordedOutcomes(ProductEvents):
    def __init__(self) -> None:
        self.outcomes: list[str] = []

    def reservation_outcome(self, outcome: str) -> None:
        self.outcomes.append(outcome)


@pytest.fixture
def events():
    return RecordedOutcomes()


@pytest.fixture
def outcomes(events):
    return events.outcomes


@pytest.fixture
def service(repo, events):
    return ProductService(repo, events=events)


# --- catalog ----------------------------------------------------------------------------------------------


def test_listing_pages_through_live_products_in_id_order_and_counts_them(repo, service):
    products = [repo.add(f"SKU-{n}") for n in range(1, 6)]
    service.delete_product(products[1].id)

    page, total = service.list_products(limit=2, offset=1)

    assert total == 4
    assert [p.sku for p in page] == ["SKU-3", "SKU-4"]


def test_getting_an_unknown_deleted_or_out_of_range_product_is_product_not_found(repo, service):
    product = repo.add()
    service.delete_product(product.id)
    for product_id in (product.id, 999, 0, MAX_ID + 1):
        with pytest.raises(ProductNotFound) as raised:
            service.get_product(product_id)
        assert raised.value.status == 404
        assert raised.value.code == "product_not_found"


def test_creating_a_product_stores_it_with_its_stock(service):
    product = service.create_product(NewProduct(sku="MUG", name="Mug", price_cents=1290, stock=7))

    assert service.get_product(product.id) == product
    assert (product.currency, product.stock, product.description) == ("EUR", 7, "")


def test_creating_a_product_with_a_sku_in_use_even_by_a_deleted_one_is_sku_taken(repo, service):
    repo.add("MUG")
    service.delete_product(1)

    with pytest.raises(SkuTaken) as raised:
        service.create_product(NewProduct(sku="MUG", name="Another mug", price_cents=1))

    assert (raised.value.status, raised.value.code) == (409, "sku_taken")
    assert len(repo.rows) == 1


def test_creating_a_product_priced_in_another_currency_is_refused(repo, service):
    with pytest.raises(InvalidInput) as raised:
        service.create_product(NewProduct(sku="MUG", name="Mug", price_cents=100, currency="USD"))

    assert raised.value.code == "unsupported_currency"
    assert repo.rows == {}


def test_updating_a_product_changes_name_description_and_price_but_not_stock(repo, service):
    product = repo.add(stock=5)

    updated = service.update_product(product.id, ProductChanges("New name", "New text", 2500))

    assert (updated.name, updated.description, updated.price_cents, updated.stock) == ("New name", "New text", 2500, 5)
    assert service.get_product(product.id) == updated


def test_updating_or_deleting_a_missing_product_is_product_not_found(repo, service):
    product = repo.add()
    service.delete_product(product.id)
    for product_id in (product.id, 42, MAX_ID + 1):
        with pytest.raises(ProductNotFound):
            service.update_product(product_id, ProductChanges("x", "", 1))
        with pytest.raises(ProductNotFound):
            service.delete_product(product_id)


def test_restocking_adds_to_the_current_stock(repo, service):
    product = repo.add(stock=3)

    assert service.restock(product.id, 4).stock == 7
    assert repo.stock(product.id) == 7


def test_restocking_a_deleted_product_or_by_less_than_one_is_refused(repo, service):
    product = repo.add(stock=3)
    with pytest.raises(InvalidInput):
        service.restock(product.id, 0)
    service.delete_product(product.id)
    with pytest.raises(ProductNotFound):
        service.restock(product.id, 5)
    assert repo.stock(product.id) == 3


def test_the_demo_catalog_is_seeded_into_an_empty_store_only(repo, service):
    assert service.seed_catalog(DEMO_CATALOG) == len(DEMO_CATALOG)
    assert service.seed_catalog(DEMO_CATALOG) == 0
    assert len(repo.rows) == len(DEMO_CATALOG)


def test_the_demo_catalog_is_not_seeded_where_products_once_existed(repo, service):
    service.delete_product(repo.add().id)

    assert service.seed_catalog(DEMO_CATALOG) == 0
    assert len(repo.rows) == 1


def test_the_demo_catalog_is_a_dozen_distinct_euro_products_with_1000_in_stock():
    assert len(DEMO_CATALOG) == 12
    assert len({p.sku for p in DEMO_CATALOG}) == 12
    assert all(p.currency == "EUR" and p.stock == 1000 and 0 < p.price_cents < 10_000_000 for p in DEMO_CATALOG)


# --- reservations ---------------------------------------------------------------------------------------------


def test_a_reservation_takes_the_stock_of_every_item_and_prices_them(repo, service, outcomes):
    mug = repo.add("MUG", stock=10, price_cents=1290, name="Mug")
    tee = repo.add("TEE", stock=5, price_cents=1990, name="Tee")

    reservation, created = service.reserve("order-1", [Item(tee.id, 2), Item(mug.id, 3)])

    assert created is True
    assert reservation.status == "held"
    assert [(i.product_id, i.name, i.quantity, i.unit_price_cents) for i in reservation.items] == [
        (tee.id, "Tee", 2, 1990),
        (mug.id, "Mug", 3, 1290),
    ]
    assert (reservation.total_cents, reservation.currency) == (2 * 1990 + 3 * 1290, "EUR")
    assert (repo.stock(mug.id), repo.stock(tee.id)) == (7, 3)
    assert outcomes == ["held"]


def test_reserving_again_with_the_same_id_returns_the_first_reservation_and_moves_no_stock(repo, service, outcomes):
    mug = repo.add(stock=10)
    first, _ = service.reserve("order-1", [Item(mug.id, 3)])

    again, created = service.reserve("order-1", [Item(mug.id, 5)])

    assert created is False
    assert again == first
    assert repo.stock(mug.id) == 7
    assert outcomes == ["held"]


def test_a_reservation_short_on_its_last_item_moves_no_stock_at_all(repo, service, outcomes):
    a, b, c = repo.add("A", stock=10), repo.add("B", stock=10), repo.add("C", stock=1)

    with pytest.raises(InsufficientStock) as raised:
        service.reserve("order-1", [Item(a.id, 2), Item(b.id, 3), Item(c.id, 2)])

    assert (raised.value.status, raised.value.code) == (409, "insufficient_stock")
    assert raised.value.details == [{"product_id": c.id, "requested": 2, "available": 1}]
    assert [repo.stock(p.id) for p in (a, b, c)] == [10, 10, 1]
    assert repo.reservations == {}
    assert outcomes == ["insufficient_stock"]


def test_insufficient_stock_lists_every_item_that_is_short(repo, service):
    a, b, c = repo.add("A", stock=1), repo.add("B", stock=10), repo.add("C", stock=0)

    with pytest.raises(InsufficientStock) as raised:
        service.reserve("order-1", [Item(c.id, 1), Item(b.id, 1), Item(a.id, 5)])

    assert raised.value.details == [
        {"product_id": a.id, "requested": 5, "available": 1},
        {"product_id": c.id, "requested": 1, "available": 0},
    ]


def test_a_refused_reservation_id_can_be_used_again_once_there_is_stock(repo, service):
    mug = repo.add(stock=1)
    with pytest.raises(InsufficientStock):
        service.reserve("order-1", [Item(mug.id, 2)])
    service.restock(mug.id, 1)

    reservation, created = service.reserve("order-1", [Item(mug.id, 2)])

    assert created is True and reservation.status == "held"
    assert repo.stock(mug.id) == 0


def test_reserving_unknown_or_deleted_products_is_unknown_product_and_moves_nothing(repo, service, outcomes):
    mug, gone = repo.add("MUG", stock=5), repo.add("GONE", stock=5)
    service.delete_product(gone.id)

    with pytest.raises(UnknownProduct) as raised:
        service.reserve("order-1", [Item(mug.id, 1), Item(404, 1), Item(gone.id, 1), Item(MAX_ID + 1, 1)])

    assert (raised.value.status, raised.value.code) == (422, "unknown_product")
    assert raised.value.details == [{"product_id": p} for p in (gone.id, 404, MAX_ID + 1)]
    assert (repo.stock(mug.id), repo.reservations, outcomes) == (5, {}, [])


def test_a_product_twice_in_one_reservation_is_duplicate_product(repo, service):
    mug, tee = repo.add("MUG"), repo.add("TEE")

    with pytest.raises(DuplicateProduct) as raised:
        service.reserve("order-1", [Item(mug.id, 1), Item(tee.id, 1), Item(mug.id, 2)])

    assert (raised.value.status, raised.value.code) == (422, "duplicate_product")
    assert raised.value.details == [{"product_id": mug.id}]
    assert repo.stock(mug.id) == 10


@pytest.mark.parametrize(
    ("reservation_id", "items"),
    [
        ("order-1", []),
        ("order-1", [Item(n, 1) for n in range(1, 22)]),
        ("order-1", [Item(1, 0)]),
        ("order-1", [Item(1, 101)]),
        ("order-1", [Item(0, 1)]),
        ("order-1\n", [Item(1, 1)]),
        ("", [Item(1, 1)]),
        ("x" * 65, [Item(1, 1)]),
        ("order 1", [Item(1, 1)]),
        ("order/1", [Item(1, 1)]),
    ],
    ids=[
        "no items",
        "21 items",
        "quantity 0",
        "quantity 101",
        "product 0",
        "newline",
        "empty id",
        "65-char id",
        "space",
        "slash",
    ],
)
def test_a_malformed_reservation_request_is_invalid_input_and_touches_nothing(repo, service, reservation_id, items):
    repo.add(stock=10)

    with pytest.raises(InvalidInput) as raised:
        service.reserve(reservation_id, items)

    assert raised.value.status == 422
    assert (repo.stock(1), repo.reservations, repo.committed) == (10, {}, 1)


def test_twenty_items_and_quantity_100_and_a_64_char_id_are_accepted(repo, service):
    products = [repo.add(f"SKU-{n}", stock=100) for n in range(20)]
    reservation_id = "a.B_9:-" + "x" * 57

    reservation, created = service.reserve(reservation_id, [Item(p.id, 100) for p in products])

    assert created and len(reservation.items) == 20
    assert all(repo.stock(p.id) == 0 for p in products)


def test_a_reservation_inserted_concurrently_under_the_same_id_is_returned_as_it_is(repo, events, outcomes):
    mug = repo.add(stock=10)
    winner = ProductService(repo).reserve("order-1", [Item(mug.id, 4)])[0]

    # The winner committed first: this request's insert of the reservation row collides on the primary key.
    reservation, created = ProductService(repo, events).reserve("order-1", [Item(mug.id, 4)])

    assert (reservation, created) == (winner, False)
    assert repo.stock(mug.id) == 6
    assert outcomes == []


def test_the_add_reservation_port_refuses_an_id_that_exists(repo):
    mug = repo.add()
    ProductService(repo).reserve("order-1", [Item(mug.id, 1)])
    with pytest.raises(ReservationExists), repo.atomic() as tx:
        tx.add_reservation(repo.reservations["order-1"])


def test_a_reservation_is_logged_as_a_stock_reserved_event(repo, service, caplog):
    mug = repo.add(stock=10, price_cents=500)
    with caplog.at_level(logging.INFO, logger="services.products"):
        service.reserve("order-7", [Item(mug.id, 2)])

    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "stock.reserved"]
    assert record.getMessage() == "stock reserved"
    assert (record.reservation_id, record.product_ids, record.total_cents) == ("order-7", [mug.id], 1000)


def test_getting_a_reservation_that_does_not_exist_or_cannot_is_reservation_not_found(service):
    for reservation_id in ("order-404", "bad id", "x" * 65):
        with pytest.raises(ReservationNotFound) as raised:
            service.get_reservation(reservation_id)
        assert (raised.value.status, raised.value.code) == (404, "reservation_not_found")


# --- transitions -----------------------------------------------------------------------------------------------


@pytest.fixture
def held(repo, service):
    """A held reservation of 3 of a product that had 10."""
    mug = repo.add(stock=10)
    service.reserve("order-1", [Item(mug.id, 3)])
    return mug


@pytest.mark.parametrize(
    ("steps", "statuses", "stock", "counted"),
    [
        pytest.param(["commit"], ["committed"], 7, ["committed"], id="committing-keeps-the-stock-sold"),
        pytest.param(["commit", "commit"], ["committed"] * 2, 7, ["committed"], id="committing-twice-is-idempotent"),
        pytest.param(["release", "release"], ["released"] * 2, 10, ["released"], id="releasing-gives-back-once"),
        pytest.param(
            ["commit", "return_stock", "return_stock"], ["committed", "returned", "returned"], 10,
            ["committed", "returned"], id="returning-a-committed-one-gives-back-once",
        ),
    ],
)  # fmt: skip
def test_a_transition_of_a_held_reservation_moves_its_stock_once_however_often_it_is_asked(
    repo, service, outcomes, held, steps, statuses, stock, counted
):
    assert [getattr(service, step)("order-1").status for step in steps] == statuses
    assert service.get_reservation("order-1").status == statuses[-1]
    assert repo.stock(held.id) == stock
    assert outcomes == ["held", *counted]


def test_released_stock_goes_back_even_to_a_product_deleted_meanwhile(repo, service, held):
    service.delete_product(held.id)
    service.release("order-1")
    assert repo.stock(held.id) == 10


@pytest.mark.parametrize(("before", "action", "code"), WRONG_STATE_TRANSITIONS)
def test_a_transition_from_the_wrong_state_is_a_conflict_and_moves_no_stock(repo, service, held, before, action, code):
    def take(step):
        return getattr(service, "return_stock" if step == "return" else step)("order-1")

    for step in before:
        take(step)
    stock, status = repo.stock(held.id), service.get_reservation("order-1").status

    with pytest.raises(ReservationStateConflict) as raised:
        take(action)

    assert (raised.value.status, raised.value.code) == (409, code)
    assert (repo.stock(held.id), service.get_reservation("order-1").status) == (stock, status)


@pytest.mark.parametrize("action", ["commit", "return_stock"])
def test_a_transition_of_a_missing_reservation_is_reservation_not_found(service, action):
    for reservation_id in ("order-404", "bad id"):
        with pytest.raises(ReservationNotFound):
            getattr(service, action)(reservation_id)


def test_releasing_a_missing_reservation_leaves_a_tombstone_that_refuses_a_late_create_without_taking_stock(
    service, repo
):
    with pytest.raises(ReservationNotFound):
        service.release("bad id")
    product = service.create_product(NewProduct("SKU-T", "Tomb", 500, stock=4))

    released = service.release("saga-1")
    again = service.release("saga-1")
    with pytest.raises(ReservationStateConflict) as late:
        service.reserve("saga-1", [Item(product.id, 2)])

    assert (released.status, released.items, released.total_cents) == ("released", (), 0) and again == released
    assert (late.value.status, late.value.code) == (409, "reservation_released")
    assert repo.stock(product.id) == 4
    assert service.get_reservation("saga-1").status == "released"


def test_a_release_that_loses_the_race_to_another_release_gives_nothing_back_twice(repo, events, outcomes, held):
    class RacedTransaction(FakeTransaction):
        """Another caller releases (and gives the stock back) between our read and our update."""

        def set_reservation_status(self, reservation_id, from_status, to_status):
            super().set_reservation_status(reservation_id, from_status, to_status)
            self.add_stock(held.id, 3)
            return False

    repo.transaction_class = RacedTransaction

    reservation = ProductService(repo, events).release("order-1")

    assert reservation.status == "released"
    assert repo.stock(held.id) == 10
    assert outcomes == ["held"]  # the winner counts the release, not us


def test_a_release_that_loses_the_race_to_a_commit_is_a_conflict(repo, held):
    class RacedTransaction(FakeTransaction):
        def set_reservation_status(self, reservation_id, from_status, to_status):
            super().set_reservation_status(reservation_id, "held", "committed")
            return False

    repo.transaction_class = RacedTransaction

    with pytest.raises(ReservationStateConflict) as raised:
        ProductService(repo).release("order-1")

    assert raised.value.code == "reservation_committed"
    assert repo.stock(held.id) == 7


# --- the reservation TTL ------------------------------------------------------------------------------------


AFTER_TTL = UPDATED_AT + timedelta(seconds=121)  # the fake creates every reservation at UPDATED_AT


def test_a_reservation_held_past_its_ttl_is_released_with_its_stock_back_and_a_later_commit_is_refused(
    repo, service, outcomes, held
):
    [expired] = service.expire_held(120, now=AFTER_TTL)
    assert (expired.reservation_id, expired.status) == ("order-1", "released")
    assert repo.stock(held.id) == 10
    assert outcomes == ["held", "expired"]
    with pytest.raises(ReservationStateConflict) as raised:
        service.commit("order-1")
    assert (raised.value.status, raised.value.code) == (409, "reservation_released")
    assert service.expire_held(120, now=AFTER_TTL) == [] and repo.stock(held.id) == 10


def test_a_reservation_held_for_less_than_its_ttl_is_kept(repo, service, held):
    assert service.expire_held(120, now=UPDATED_AT + timedelta(seconds=119)) == []
    assert (service.get_reservation("order-1").status, repo.stock(held.id)) == ("held", 7)


@pytest.mark.parametrize("step", ["commit", "release", "return_stock"])
def test_only_held_reservations_expire_so_a_committed_order_never_loses_its_stock(repo, service, held, step):
    if step == "return_stock":
        service.commit("order-1")
    getattr(service, step)("order-1")
    status, stock = service.get_reservation("order-1").status, repo.stock(held.id)
    assert service.expire_held(120, now=AFTER_TTL) == []
    assert (service.get_reservation("order-1").status, repo.stock(held.id)) == (status, stock)


def test_a_reservation_committed_between_the_sweepers_read_and_its_release_keeps_its_stock(
    repo, events, outcomes, held
):
    class CommittedMeanwhile(FakeTransaction):
        def set_reservation_status(self, reservation_id, from_status, to_status):
            super().set_reservation_status(reservation_id, "held", "committed")
            return super().set_reservation_status(reservation_id, from_status, to_status)

    repo.transaction_class = CommittedMeanwhile
    assert ProductService(repo, events).expire_held(120, now=AFTER_TTL) == []
    assert repo.reservations["order-1"].status == "committed" and repo.stock(held.id) == 7
    assert outcomes == ["held"]


def test_an_expiry_is_logged_with_the_reservation_and_what_went_back(service, held, caplog):
    with caplog.at_level(logging.INFO, logger="services.products"):
        service.expire_held(120, now=AFTER_TTL)
    [record] = [r for r in caplog.records if getattr(r, "event", None) == "stock.expired"]
    assert (record.reservation_id, record.product_ids, record.quantity, record.levelname) == (
        "order-1", [held.id], 3, "WARNING",
    )  # fmt: skip
