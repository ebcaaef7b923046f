import os

import pytest

from tests.support.auth import INTERNAL_TOKEN_KEY
from tests.support.otlp import OtlpReceiver


def pytest_configure(config):
    """Every app of the run, in process or a child process, signs and verifies internal tokens with the key the
    headers of tests.support.auth are made with, and exports no span unless its test points it at a receiver
    (tests.support.otlp.exporting_to): an app left behind by its test would otherwise retry the default collector
    address and log the failure into whichever test runs ten seconds later."""
    os.environ["INTERNAL_TOKEN_KEY"] = INTERNAL_TOKEN_KEY
    os.environ["OTEL_TRACES_EXPORTER"] = "none"


@pytest.fixture
def otlp_receiver():
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    """A fresh, empty database URL: each test using it runs once on SQLite and once on PostgreSQL."""
    from tests.support.databases import database

    with database(request.param, tmp_path) as url:
        yield url
