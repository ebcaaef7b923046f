"""Fixtures of the orders unit tests: the use cases wired to in-memory fakes sharing one journal."""

import pytest

from services.orders.domain import OrderService
from tests.support.fakes.orders import (
    Clock,
    FakeInventory,
    FakePayments,
    InMemoryOrderRepository,
    Journal,
    RecordingEvents,
)


@pytest.fixture
def journal():
    return Journal()


@pytest.fixture
def inventory(journal):
    return FakeInventory(journal)


@pytest.fixture
def payments(journal):
    return FakePayments(journal)


@pytest.fixture
def repo(journal):
    return InMemoryOrderRepository(journal)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def events():
    return RecordingEvents()


@pytest.fixture
def service(repo, inventory, payments, events, clock):
    return OrderService(repo, inventory, payments, events=events, clock=clock, recovery_grace_seconds=30)
