"""Fixtures of the end-to-end tests: the shop on SQLite and on PostgreSQL, and the OTLP receiver they export to."""

import pytest

from tests.support.otlp import OtlpReceiver
from tests.support.shop import EVENTS_SHOP, running_shop


@pytest.fixture(scope="session")
def e2e_receiver():
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def shop(tmp_path_factory, e2e_receiver):
    """The whole shop on SQLite, shared by the e2e tests of a run (no broker: events wait in the outboxes)."""
    with running_shop("sqlite", tmp_path_factory.mktemp("shop-sqlite"), e2e_receiver, names=EVENTS_SHOP) as running:
        yield running


@pytest.fixture(scope="session")
def shop_postgres(tmp_path_factory, e2e_receiver):
    """The whole shop on fresh PostgreSQL databases (one per service)."""
    with running_shop("postgres", tmp_path_factory.mktemp("shop-postgres"), e2e_receiver, names=EVENTS_SHOP) as running:
        yield running
