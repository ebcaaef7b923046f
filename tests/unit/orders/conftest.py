from collections import Counter

import pytest

from services.orders.domain import OrderMetrics, OrderService
from tests.unit.orders.fakes import Clock, FakeInventory, FakePayments, InMemoryOrderRepository, Journal


class RecordingMetrics(OrderMetrics):
    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.values: list[int] = []
        self.cancellations = 0
        self.compensations: Counter[str] = Counter()

    def outcome(self, outcome: str) -> None:
        self.outcomes[outcome] += 1

    def confirmed_value(self, total_cents: int, currency: str) -> None:
        self.values.append(total_cents)

    def cancelled(self) -> None:
        self.cancellations += 1

    def compensated(self, step: str) -> None:
        self.compensations[step] += 1


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
def metrics():
    return RecordingMetrics()


@pytest.fixture
def service(repo, inventory, payments, metrics, clock):
    return OrderService(repo, inventory, payments, metrics=metrics, clock=clock, recovery_grace_seconds=30)
