"""The caller's deadline: a checkout never confirms once its caller may have given up.

The deadline is :mod:`telemetry.deadline`'s, on a monotonic clock the tests move by hand: a fake "takes" the
seconds it advances while it answers.
"""

import pytest

from services.orders.domain import CONFIRMED, FAILED, Line, PlaceOrder
from services.orders.domain.errors import DeadlinePassed
from telemetry import deadline
from tests.support.fakes.orders import CARD


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def takes(self, seconds: float):
        def advance() -> None:
            self.now += seconds

        return advance


@pytest.fixture
def monotonic(monkeypatch):
    clock = Monotonic()
    monkeypatch.setattr(deadline, "monotonic", clock)
    return clock


def place(service, key=None):
    return service.place_order(PlaceOrder(7, (Line(1, 2),), CARD, idempotency_key=key))


def test_a_checkout_with_its_budget_to_spare_confirms(service, repo, payments, monotonic):
    payments.then("charge", monotonic.takes(5))

    with deadline.budget(10):
        outcome = place(service)

    assert outcome.status == 201 and repo.rows[outcome.body["id"]].status == CONFIRMED


def test_a_charge_that_leaves_less_than_the_margin_fails_the_order_before_the_commit_and_gives_everything_back(
    service, repo, inventory, payments, journal, events, monotonic
):
    payments.then("charge", monotonic.takes(9.6))  # 0.4 s left, the margin is 0.5 s

    with deadline.budget(10), pytest.raises(DeadlinePassed) as raised:
        place(service)

    (order,) = repo.rows.values()
    assert raised.value.status == 504 and raised.value.code == "deadline_exceeded"
    assert (order.status, order.failure_reason) == (FAILED, "deadline_exceeded")
    assert journal.calls() == [("products", "reserve"), ("payments", "charge"), ("payments", "void"),
                               ("products", "release")]  # fmt: skip
    assert payments.status(order.id) == "refunded" and inventory.stock(1) == 10
    assert events.outcomes == {"failed": 1} and events.compensations == {"refund": 1, "release": 1}


def test_a_commit_that_answers_after_the_deadline_is_given_back_and_the_order_fails_rather_than_confirm(
    service, repo, inventory, payments, journal, monotonic
):
    inventory.then("commit", monotonic.takes(11))

    with deadline.budget(10), pytest.raises(DeadlinePassed):
        place(service)

    (order,) = repo.rows.values()
    assert (order.status, order.failure_reason) == (FAILED, "deadline_exceeded")
    assert journal.calls()[-3:] == [("payments", "void"), ("products", "release"), ("products", "return")]
    assert payments.status(order.id) == "refunded" and inventory.stock(1) == 10
    assert inventory.status(order.reservation_id) == "returned"


def test_compensations_run_without_the_callers_deadline(service, inventory, payments, monotonic):
    payments.then("charge", monotonic.takes(9.6))
    seen = []
    payments.then("void", lambda: seen.append(deadline.remaining_seconds()))
    inventory.then("release", lambda: seen.append(deadline.remaining_seconds()))

    with deadline.budget(10), pytest.raises(DeadlinePassed):
        place(service)

    assert seen == [None, None]  # spent or not, the caller's budget never cuts giving back short


def test_a_checkout_with_an_idempotency_key_runs_without_the_callers_deadline_and_its_replay_returns_it(
    service, repo, inventory, payments, monotonic
):
    payments.then("charge", monotonic.takes(30))  # far past the caller's deadline

    with deadline.budget(10):
        outcome = place(service, key="k-1")
    replayed = place(service, key="k-1")

    assert outcome.status == 201 and repo.rows[outcome.body["id"]].status == CONFIRMED
    assert replayed == outcome and payments.charges == 1 and inventory.stock(1) == 8
