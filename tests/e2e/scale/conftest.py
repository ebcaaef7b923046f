"""The scale tests' one shop: two replicas of every service behind nginx on PostgreSQL, RabbitMQ and Redis
(tests/support/replicas.py), with the fault tests' recovery timings of seconds, and a Prometheus scraping each
replica. Shared by every test of this package: booting a dozen services takes most of a minute on two cores."""

import pytest

from tests.support.chaos import HEALING_ENV
from tests.support.replicas import scaled_shop


@pytest.fixture(scope="package")
def scaled(tmp_path_factory, e2e_receiver):
    with scaled_shop(tmp_path_factory.mktemp("replicas"), e2e_receiver, extra_env=HEALING_ENV) as running:
        yield running
