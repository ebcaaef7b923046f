import pytest

from tests.support.otlp import OtlpReceiver


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
