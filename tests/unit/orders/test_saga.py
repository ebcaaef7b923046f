"""The checkout saga with fakes: each step, each failure at each step, and the compensations in reverse."""

import pytest

from services.common.cards import InvalidCard
from services.common.errors import InvalidInput, PaymentDeclined, UpstreamFailure
from services.orders.domain import (
    COMPENSATING,
    CONFIRMED,
    FAILED,
    InsufficientStock,
    Line,
    OrderNotFound,
    PlaceOrder,
    UnknownProduct,
)
from tests.support.fakes.orders import BAD_LUHN, CARD, DECLINE, NO_FUNDS, Card, timed_out, unavailable

#: The journal's entries for the saga's calls to products and payments.
RESERVE, COMMIT, RELEASE, RETURN = (("products", call) for call in ("reserve", "commit", "release", "return"))
CHARGE, VOID = ("payments", "charge"), ("payments", "void")


def order(*lines: tuple[int, int], card: Card = CARD, user_id: int = 7, key: str | None = None) -> PlaceOrder:
    return PlaceOrder(user_id, tuple(Line(p, q) for p, q in lines), card, key)


def only_order(repo):
    (stored,) = repo.rows.values()
    return stored


def place_raising(service, placing: PlaceOrder, error: type[Exception] = UpstreamFailure):
    """Place the order, which must fail with ``error``, and return that error (what the customer is answered)."""
    with pytest.raises(error) as raised:
        service.place_order(placing)
    return raised.value


def test_a_confirmed_order_reserves_charges_and_commits_saving_each_state_before_the_next_call(
    service, repo, inventory, payments, journal, events
):
    outcome = service.place_order(order((1, 2), (2, 1)))

    assert journal == [
        ("orders", "pending"),
        RESERVE,
        ("orders", "reserved"),
        CHARGE,
        ("orders", "paid"),
        COMMIT,
        ("orders", "confirmed"),
    ]
    assert outcome.status == 201
    body = outcome.body
    assert body["status"] == "confirmed" and body["failure_reason"] is None
    assert body["items"] == [
        {"product_id": 1, "name": "Espresso cup", "quantity": 2, "unit_price_cents": 1250},
        {"product_id": 2, "name": "Milk jug", "quantity": 1, "unit_price_cents": 2999},
    ]
    assert body["total_cents"] == 2 * 1250 + 2999 and body["currency"] == "EUR"
    assert body["payment_id"] == payments.for_order(body["id"]).id
    assert body["created_at"].endswith("Z") and body["user_id"] == 7
    assert only_order(repo).status == CONFIRMED and only_order(repo).outcome == outcome
    assert inventory.stock(1) == 8 and inventory.stock(2) == 4
    assert inventory.status(only_order(repo).saga_id) == "committed"
    assert payments.status(body["id"]) == "completed"
    assert events.outcomes == {"confirmed": 1} and events.values == [5499]
    assert not events.compensations


def test_an_order_beyond_the_stock_fails_as_out_of_stock_with_the_details_and_compensates_nothing(
    service, repo, inventory, journal, events
):
    error = place_raising(service, order((1, 1), (3, 2)), InsufficientStock)

    assert error.status == 409 and error.code == "insufficient_stock"
    assert error.details == [{"product_id": 3, "requested": 2, "available": 1}]
    assert journal.calls() == [RESERVE]
    stored = only_order(repo)
    assert stored.status == FAILED and stored.failure_reason == "out_of_stock"
    assert stored.outcome.status == 409 and stored.outcome.body["error"]["details"] == error.details
    assert inventory.stock(1) == 10 and inventory.stock(3) == 1
    assert events.outcomes == {"out_of_stock": 1}


def test_an_unknown_product_fails_the_order_as_rejected_and_the_customer_never_sees_it(service, repo, journal, events):
    error = place_raising(service, order((1, 1), (999, 1)), UnknownProduct)

    assert error.status == 422 and error.code == "unknown_product"
    assert journal.calls() == [RESERVE]
    stored = only_order(repo)
    assert stored.status == FAILED and stored.failure_reason == "unknown_product"
    with pytest.raises(OrderNotFound):
        service.get_order(7, stored.id)
    assert service.list_orders(7, limit=10, offset=0) == ([], 0)
    assert events.outcomes == {"failed": 1}


@pytest.mark.parametrize(("number", "code"), [(DECLINE, "card_declined"), (NO_FUNDS, "insufficient_funds")])
def test_a_declined_card_releases_the_stock_and_fails_the_order_with_the_decline_code(
    service, repo, inventory, journal, events, number, code
):
    error = place_raising(service, order((2, 3), card=Card(number, 12, 2030, "123")), PaymentDeclined)

    assert error.status == 402 and error.code == code
    assert journal.calls() == [RESERVE, CHARGE, RELEASE]
    stored = only_order(repo)
    assert stored.status == FAILED and stored.failure_reason == code
    assert repo.history[stored.id] == ["pending", "reserved", "compensating", "failed"]
    assert inventory.stock(2) == 5 and inventory.status(stored.reservation_id) == "released"
    assert events.outcomes == {"declined": 1} and events.compensations == {"release": 1}


def test_a_card_payments_refuses_as_malformed_releases_the_stock_and_answers_422(
    service, repo, inventory, journal, payments, events
):
    error = place_raising(service, order((1, 1), card=Card(BAD_LUHN, 12, 2030, "123")), InvalidCard)

    assert error.status == 422 and error.details
    assert journal.calls() == [RESERVE, CHARGE, RELEASE]
    stored = only_order(repo)
    assert stored.status == FAILED and stored.failure_reason == "invalid_card" and stored.rejected
    assert inventory.stock(1) == 10 and payments.charges == 0
    assert events.outcomes == {"failed": 1}


def test_products_refusing_the_connection_at_reserve_fails_the_order_with_nothing_to_compensate(
    service, repo, inventory, journal, events
):
    inventory.fail("reserve", unavailable("products"))

    error = place_raising(service, order((1, 1)))

    assert error.status == 503 and error.code == "upstream_unavailable"
    assert journal.calls() == [RESERVE]
    assert only_order(repo).status == FAILED and only_order(repo).failure_reason == "products_unavailable"
    assert events.outcomes == {"failed": 1} and not events.compensations


def test_a_reserve_that_timed_out_before_holding_anything_is_released_but_counts_no_compensation(
    service, repo, inventory, journal, events
):
    inventory.fail("reserve", timed_out("products"))

    place_raising(service, order((1, 4)))

    assert journal.calls() == [RESERVE, RELEASE]
    assert only_order(repo).status == FAILED and inventory.stock(1) == 10
    assert events.outcomes == {"failed": 1} and not events.compensations


def test_a_reserve_that_held_stock_but_timed_out_is_released_and_answers_504(
    service, repo, inventory, journal, payments
):
    inventory.fail("reserve", timed_out("products"), after=True)

    error = place_raising(service, order((1, 4)))

    assert error.status == 504 and error.code == "upstream_timeout"
    assert journal.calls() == [RESERVE, RELEASE]
    stored = only_order(repo)
    assert stored.status == FAILED and stored.failure_reason == "products_unavailable"
    assert inventory.stock(1) == 10 and payments.charges == 0


def test_payments_refusing_the_connection_releases_the_stock_without_looking_for_a_charge(
    service, repo, inventory, payments, journal
):
    payments.fail("charge", unavailable("payments"))

    error = place_raising(service, order((1, 2)))

    assert error.status == 503
    assert journal.calls() == [RESERVE, CHARGE, RELEASE]
    stored = only_order(repo)
    assert stored.status == FAILED and stored.failure_reason == "payments_unavailable"
    assert inventory.stock(1) == 10


def test_a_charge_that_went_through_but_timed_out_is_voided_so_refunded_then_released(
    service, repo, inventory, payments, journal, events
):
    payments.fail("charge", timed_out("payments"), after=True)

    error = place_raising(service, order((1, 2)))

    assert error.status == 504
    assert journal.calls() == [RESERVE, CHARGE, VOID, RELEASE]
    stored = only_order(repo)
    assert stored.status == FAILED and stored.failure_reason == "payments_unavailable"
    assert payments.status(stored.id) == "refunded" and inventory.stock(1) == 10
    assert events.compensations == {"refund": 1, "release": 1}


def test_a_charge_that_timed_out_before_charging_is_voided_and_only_released(
    service, repo, inventory, payments, journal, events
):
    payments.fail("charge", timed_out("payments"))

    place_raising(service, order((1, 2)))

    assert journal.calls()[-2:] == [VOID, RELEASE]
    assert only_order(repo).status == FAILED and payments.status(only_order(repo).id) is None
    assert events.compensations == {"release": 1}


def test_a_charge_still_processing_after_a_timeout_leaves_the_order_compensating_with_its_stock_released(
    service, repo, inventory, payments
):
    payments.settles = False
    payments.fail("charge", timed_out("payments"), after=True)

    place_raising(service, order((1, 1)))

    stored = only_order(repo)
    assert stored.status == COMPENSATING and stored.failure_reason == "payments_unavailable"
    assert inventory.stock(1) == 10 and payments.status(stored.id) == "processing"


def test_a_failed_commit_refunds_then_releases_in_that_order(service, repo, inventory, payments, journal, events):
    inventory.fail("commit", unavailable("products"))

    error = place_raising(service, order((1, 1)))

    assert error.status == 503
    assert journal.calls() == [RESERVE, CHARGE, COMMIT, VOID, RELEASE]
    stored = only_order(repo)
    assert repo.history[stored.id] == ["pending", "reserved", "paid", "compensating", "failed"]
    assert stored.failure_reason == "products_unavailable" and stored.payment_id is not None
    assert payments.status(stored.id) == "refunded" and inventory.stock(1) == 10
    assert events.outcomes == {"failed": 1} and events.compensations == {"refund": 1, "release": 1}


def test_a_commit_that_went_through_before_timing_out_is_refunded_and_its_stock_returned(
    service, repo, inventory, payments, journal
):
    inventory.fail("commit", timed_out("products"), after=True)

    error = place_raising(service, order((1, 3)))

    assert error.status == 504
    assert journal.calls()[-3:] == [VOID, RELEASE, RETURN]
    stored = only_order(repo)
    assert stored.status == FAILED and inventory.status(stored.reservation_id) == "returned"
    assert inventory.stock(1) == 10 and payments.status(stored.id) == "refunded"


def test_a_compensation_that_fails_leaves_the_order_compensating_and_the_other_compensations_still_run(
    service, repo, inventory, payments, journal, events
):
    inventory.fail("commit", unavailable("products"), times=1)
    payments.fail("void", unavailable("payments"))

    error = place_raising(service, order((1, 1)))

    assert error.status == 503
    assert journal.calls()[-2:] == [VOID, RELEASE]
    stored = only_order(repo)
    assert stored.status == COMPENSATING and stored.failure_reason == "products_unavailable"
    assert stored.outcome.status == 503
    assert inventory.stock(1) == 10, "the stock is given back even though the refund failed"
    assert payments.status(stored.id) == "completed"
    assert events.compensations == {"release": 1}


def test_a_release_that_fails_after_a_decline_still_answers_402_and_leaves_the_order_compensating(
    service, repo, inventory
):
    inventory.fail("release", unavailable("products"))

    place_raising(service, order((1, 1), card=Card(DECLINE, 12, 2030, "123")), PaymentDeclined)

    stored = only_order(repo)
    assert stored.status == COMPENSATING and stored.failure_reason == "card_declined"
    assert inventory.stock(1) == 9


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ((), "invalid_input"),
        (tuple((p, 1) for p in range(1, 22)), "invalid_input"),
        (((1, 0),), "invalid_input"),
        (((1, 101),), "invalid_input"),
        (((0, 1),), "invalid_input"),
        (((1, 1), (2, 1), (1, 2)), "duplicate_product"),
    ],
)
def test_orders_breaking_the_item_rules_are_refused_before_anything_is_stored_or_called(
    service, repo, journal, lines, code
):
    error = place_raising(service, order(*lines), InvalidInput)

    assert error.status == 422 and error.code == code
    assert repo.rows == {} and journal == []
