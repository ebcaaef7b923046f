"""The recovery sweep: orders a crash left behind in each state are finished, never twice, never too early.

A crash is simulated by a fake raising an exception that is not a domain error (the process "died" there):
the saga stops without compensating, and the order keeps the last state it saved.
"""

import pytest

from services.orders.domain import (
    COMPENSATING,
    CONFIRMED,
    FAILED,
    Line,
    Order,
    OrderItem,
    OrderService,
    PlaceOrder,
    StaleOrder,
)
from tests.support.fakes.orders import CARD, InMemoryOrderRepository, unavailable


class Crash(Exception):
    """The process died here."""


def crash_during(fake, operation: str, *, after: bool) -> None:
    fake.fail(operation, Crash(operation), after=after, times=1)


def sweep_after(service, clock, seconds: float):
    """Let ``seconds`` pass (the grace is 30), then run the recovery sweep once; what it recovered."""
    clock.advance(seconds)
    return service.recover_unfinished()


def place(service, *lines):
    return service.place_order(PlaceOrder(7, tuple(Line(p, q) for p, q in lines), CARD))


def stuck(service, repo, *lines) -> Order:
    with pytest.raises(Crash):
        place(service, *lines)
    (order,) = repo.rows.values()
    return order


def left_compensating(service, repo) -> Order:
    """Place an order whose commit fails and whose compensation fails too: the saga leaves it compensating."""
    with pytest.raises(Exception, match="products"):
        place(service, (1, 1))
    (order,) = repo.rows.values()
    assert order.status == COMPENSATING
    return order


def test_recovery_leaves_orders_younger_than_the_grace_period_alone(service, repo, inventory, payments, clock, journal):
    crash_during(payments, "charge", after=True)
    order = stuck(service, repo, (1, 2))
    calls = len(journal)

    assert sweep_after(service, clock, 29) == []

    assert repo.rows[order.id].status == "reserved" and len(journal) == calls
    assert inventory.stock(1) == 8 and payments.status(order.id) == "completed"


def test_recovery_fails_an_interrupted_pending_order_and_gives_back_a_reservation_it_did_not_record(
    service, repo, inventory, clock, events
):
    crash_during(inventory, "reserve", after=True)
    order = stuck(service, repo, (1, 3))
    assert order.status == "pending" and inventory.stock(1) == 7

    (recovered,) = sweep_after(service, clock, 31)

    stored = repo.rows[order.id]
    assert recovered.id == order.id and stored.status == FAILED and stored.failure_reason == "interrupted"
    assert stored.outcome.status == 503 and stored.outcome.body["error"]["code"] == "order_interrupted"
    assert inventory.stock(1) == 10
    assert events.outcomes == {"failed": 1} and events.compensations == {"release": 1}


def test_recovery_of_a_pending_order_that_never_reserved_just_fails_it(service, repo, inventory, clock):
    crash_during(inventory, "reserve", after=False)
    order = stuck(service, repo, (1, 3))

    sweep_after(service, clock, 60)

    assert repo.rows[order.id].status == FAILED and inventory.stock(1) == 10
    assert inventory.status(order.reservation_id) == "released"  # a tombstone: a late reserve cannot hold stock


def test_recovery_counts_no_release_when_products_never_held_anything(service, repo, inventory, clock, events):
    crash_during(inventory, "reserve", after=False)
    stuck(service, repo, (1, 3))

    sweep_after(service, clock, 60)

    assert events.compensations == {}, "nothing was held, so nothing was compensated"
    assert events.outcomes == {"failed": 1}


def test_recovery_refunds_and_releases_an_order_interrupted_after_the_card_was_charged(
    service, repo, inventory, payments, clock, journal, events
):
    crash_during(payments, "charge", after=True)
    order = stuck(service, repo, (2, 2))
    assert order.status == "reserved" and payments.status(order.id) == "completed"

    sweep_after(service, clock, 31)

    stored = repo.rows[order.id]
    assert stored.status == FAILED and stored.failure_reason == "interrupted"
    assert payments.status(order.id) == "refunded" and inventory.stock(2) == 5
    assert journal.calls()[-2:] == [("products", "release"), ("payments", "void")]
    assert events.compensations == {"release": 1, "refund": 1}


def test_recovery_confirms_a_paid_order_whose_commit_went_through_before_the_crash(
    service, repo, inventory, payments, clock, events
):
    crash_during(inventory, "commit", after=True)
    order = stuck(service, repo, (1, 2))
    assert order.status == "paid" and inventory.status(order.reservation_id) == "committed"

    sweep_after(service, clock, 31)

    stored = repo.rows[order.id]
    assert stored.status == CONFIRMED and stored.failure_reason is None
    assert stored.outcome.status == 201 and stored.outcome.body["status"] == "confirmed"
    assert payments.status(order.id) == "completed" and inventory.stock(1) == 8
    assert events.outcomes == {"confirmed": 1} and events.values == [2500]


def test_a_paid_order_whose_release_fails_keeps_its_charge_until_products_says_whether_the_commit_went_through(
    service, repo, inventory, payments, clock, events
):
    # The commit went through, but the crash came before orders saved it; the sweep's release then times out.
    crash_during(inventory, "commit", after=True)
    order = stuck(service, repo, (1, 2))
    inventory.fail("release", unavailable("products"), times=1)

    sweep_after(service, clock, 31)

    first = repo.rows[order.id]
    assert first.status == "paid", "nothing known yet: the order waits for the next sweep as it was"
    assert payments.status(order.id) == "completed", "refunding now would give away the goods of a placed order"
    assert inventory.status(order.reservation_id) == "committed" and events.outcomes == {}

    sweep_after(service, clock, 31)

    stored = repo.rows[order.id]
    assert stored.status == CONFIRMED and stored.outcome.status == 201
    assert payments.status(order.id) == "completed" and inventory.stock(1) == 8
    assert events.outcomes == {"confirmed": 1}


def test_recovery_refunds_and_releases_a_paid_order_whose_commit_never_happened(
    service, repo, inventory, payments, clock
):
    crash_during(inventory, "commit", after=False)
    order = stuck(service, repo, (1, 2))
    assert order.status == "paid"

    sweep_after(service, clock, 31)

    assert repo.rows[order.id].status == FAILED
    assert payments.status(order.id) == "refunded" and inventory.stock(1) == 10


def test_recovery_finishes_a_compensating_order_keeping_the_reason_and_answer_the_customer_got(
    service, repo, inventory, payments, clock, events
):
    inventory.fail("commit", unavailable("products"), times=1)
    payments.fail("void", unavailable("payments"), times=1)
    order = left_compensating(service, repo)
    assert payments.status(order.id) == "completed"

    sweep_after(service, clock, 31)

    stored = repo.rows[order.id]
    assert stored.status == FAILED and stored.failure_reason == "products_unavailable"
    assert stored.outcome == order.outcome
    assert payments.status(order.id) == "refunded" and inventory.stock(1) == 10
    assert events.outcomes == {"failed": 1}, "the outcome was counted once, when the saga answered"


def test_a_compensating_order_whose_stock_was_committed_gets_it_returned_not_confirmed(
    service, repo, inventory, payments, clock
):
    inventory.fail("commit", unavailable("products"), after=True, times=1)
    inventory.fail("release", unavailable("products"), times=1)
    payments.fail("void", unavailable("payments"), times=1)
    order = left_compensating(service, repo)
    assert inventory.status(order.reservation_id) == "committed"

    sweep_after(service, clock, 31)

    assert repo.rows[order.id].status == FAILED
    assert inventory.status(order.reservation_id) == "returned" and inventory.stock(1) == 10
    assert payments.status(order.id) == "refunded"


def test_a_recovery_that_fails_again_leaves_the_order_compensating_for_the_next_sweep(
    service, repo, inventory, payments, clock, events
):
    crash_during(payments, "charge", after=True)
    order = stuck(service, repo, (1, 1))
    payments.fail("void", unavailable("payments"))

    sweep_after(service, clock, 31)

    first = repo.rows[order.id]
    assert first.status == COMPENSATING and first.failure_reason == "interrupted"
    assert inventory.stock(1) == 10 and payments.status(order.id) == "completed"

    payments.heal()
    sweep_after(service, clock, 31)

    assert repo.rows[order.id].status == FAILED and payments.status(order.id) == "refunded"
    assert events.outcomes == {"failed": 1}


def test_an_order_another_worker_claimed_first_is_skipped(inventory, payments, events, clock, journal):
    class RacingRepository(InMemoryOrderRepository):
        """Another worker claims every order between our listing and our claim."""

        def list_unfinished(self, updated_before, limit=100):
            listed = super().list_unfinished(updated_before, limit)
            for order in listed:
                self.rows[order.id].version += 1
            return listed

    repo = RacingRepository(journal)
    order = repo.add(Order(user_id=7, items=[OrderItem(1, 1)], created_at=clock(), updated_at=clock()))
    service = OrderService(repo, inventory, payments, events=events, clock=clock)

    assert sweep_after(service, clock, 31) == []
    assert repo.rows[order.id].status == "pending" and journal.calls() == []
    with pytest.raises(StaleOrder):
        repo.save(order)


def test_one_sweep_takes_every_order_past_the_grace_period_however_many_there_are(service, repo, inventory, clock):
    inventory.products[1].stock = 1000
    for _ in range(150):
        crash_during(inventory, "commit", after=False)
        _crash_one(service, (1, 1))
    assert {o.status for o in repo.rows.values()} == {"paid"}

    recovered = sweep_after(service, clock, 31)

    assert len(recovered) == 150 and {o.status for o in repo.rows.values()} == {FAILED}
    assert inventory.stock(1) == 1000


def test_an_order_whose_recovery_breaks_does_not_keep_the_others_unfinished(service, repo, inventory, payments, clock):
    crash_during(payments, "charge", after=True)
    first = stuck(service, repo, (1, 1))
    crash_during(inventory, "commit", after=False)
    second = _crash_one(service, (2, 1))
    clock.advance(31)
    inventory.fail("release", Crash("a defect"), times=1)  # the first order's recovery raises what no one expects

    recovered = service.recover_unfinished()

    assert [o.id for o in recovered] == [first.id, second.id]
    assert repo.rows[second.id].status == FAILED and inventory.stock(2) == 5
    assert repo.rows[first.id].status == "reserved"  # claimed and left: the next sweep after the grace takes it
    sweep_after(service, clock, 31)
    assert repo.rows[first.id].status == FAILED and inventory.stock(1) == 10


def _crash_one(service, *lines) -> Order:
    with pytest.raises(Crash):
        place(service, *lines)
    return max(service.ports.orders.rows.values(), key=lambda o: o.number)
