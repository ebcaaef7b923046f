"""Idempotency keys: a replay gets the first answer and runs nothing; a different body or a running first
request is refused."""

import pytest

from services.common.cards import Card
from services.common.contract import valid_idempotency_key
from services.common.errors import PaymentDeclined
from services.orders.domain import (
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    Line,
    Order,
    OrderItem,
    OrderService,
    PlaceOrder,
    ReplayedError,
)
from services.orders.domain.idempotency import fingerprint
from tests.support.fakes.orders import APPROVE, CARD, DECLINE, InMemoryOrderRepository


def keyed(key: str, *lines, card: Card = CARD, user_id: int = 7) -> PlaceOrder:
    return PlaceOrder(user_id, tuple(Line(p, q) for p, q in lines or ((1, 1),)), card, key)


def test_a_replay_with_the_same_key_and_body_returns_the_first_answer_without_charging_again(
    service, repo, payments, inventory, journal, events
):
    first = service.place_order(keyed("checkout-1", (1, 2)))
    calls = journal.calls()

    second = service.place_order(keyed("checkout-1", (1, 2)))

    assert second == first and second.status == 201
    assert journal.calls() == calls and payments.charges == 1
    assert len(repo.rows) == 1 and inventory.stock(1) == 8
    assert events.outcomes == {"confirmed": 1}


def test_a_replay_of_a_declined_order_answers_the_same_402_without_calling_anyone(service, payments, journal):
    declined = Card(DECLINE, 12, 2030, "123")
    with pytest.raises(PaymentDeclined) as first:
        service.place_order(keyed("k", card=declined))
    calls = list(journal)

    with pytest.raises(ReplayedError) as replay:
        service.place_order(keyed("k", card=declined))

    assert (replay.value.status, replay.value.code, replay.value.message) == (402, "card_declined", first.value.message)
    assert journal == calls and payments.charges == 1


def test_a_replay_of_an_out_of_stock_order_repeats_the_409_with_its_details(service):
    with pytest.raises(Exception) as first:
        service.place_order(keyed("k", (3, 5)))

    with pytest.raises(ReplayedError) as replay:
        service.place_order(keyed("k", (3, 5)))

    assert replay.value.status == 409 and replay.value.code == "insufficient_stock"
    assert replay.value.details == first.value.details == [{"product_id": 3, "requested": 5, "available": 1}]


@pytest.mark.parametrize(
    "other",
    [
        keyed("k", (1, 3)),
        keyed("k", (2, 1)),
        keyed("k", (1, 1), (2, 1)),
        keyed("k", card=Card("5555555555554444", 12, 2030, "123")),
        keyed("k", card=Card(APPROVE, 11, 2030, "123")),
        keyed("k", card=Card(APPROVE, 12, 2030, "999")),
    ],
)
def test_the_same_key_with_a_different_body_is_refused_as_reused(service, repo, journal, other):
    service.place_order(keyed("k", (1, 1)))
    calls = list(journal)

    with pytest.raises(IdempotencyKeyReused) as raised:
        service.place_order(other)

    assert raised.value.status == 422 and raised.value.code == "idempotency_key_reused"
    assert journal == calls and len(repo.rows) == 1


def test_the_same_key_while_the_first_request_is_still_running_is_answered_in_progress(service, repo, journal):
    first = keyed("k", (1, 1))
    running = Order(
        user_id=7,
        items=[OrderItem(1, 1)],
        status="reserved",
        idempotency_key="k",
        request_fingerprint=fingerprint(b"tienda-orders", first),
    )
    repo.add(running)
    journal.clear()

    with pytest.raises(IdempotencyKeyInProgress) as raised:
        service.place_order(first)

    assert raised.value.status == 409 and raised.value.code == "idempotency_key_in_progress"
    assert journal == []


def test_keys_belong_to_one_user_so_another_user_with_the_same_key_places_a_new_order(service, repo, payments):
    service.place_order(keyed("k", user_id=1))
    service.place_order(keyed("k", user_id=2))

    assert len(repo.rows) == 2 and payments.charges == 2


def test_a_request_that_loses_the_insert_race_for_its_key_replays_the_winner(inventory, payments, events, clock):
    class LateLookup(InMemoryOrderRepository):
        """The first lookup misses the row the concurrent winner is inserting."""

        misses = 1

        def get_by_idempotency_key(self, user_id, key):
            if self.misses:
                self.misses -= 1
                return None
            return super().get_by_idempotency_key(user_id, key)

    repo = LateLookup()
    service = OrderService(repo, inventory, payments, events=events, clock=clock)
    repo.misses = 0
    winner = service.place_order(keyed("k"))
    repo.misses = 1

    loser = service.place_order(keyed("k"))

    assert loser == winner and payments.charges == 1 and len(repo.rows) == 1


def test_the_stored_fingerprint_is_a_keyed_hash_that_reveals_no_card_digits():
    command = keyed("k")

    stored = fingerprint(b"one", command)

    assert len(stored) == 64 and APPROVE not in stored and "4242" not in stored
    assert stored == fingerprint(b"one", keyed("k")) != fingerprint(b"two", command)


@pytest.mark.parametrize(
    ("key", "valid"),
    [("a", True), ("x" * 255, True), ("order 42 / retry #1 ~", True), ("", False), ("x" * 256, False),
     ("tab\there", False), ("línea", False), ("new\nline", False), ("\x7f", False)],
)  # fmt: skip
def test_idempotency_keys_are_1_to_255_printable_ascii_characters(key, valid):
    assert valid_idempotency_key(key) is valid
