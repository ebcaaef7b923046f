import pytest

from tests.support import broker as rabbit
from tests.support.captured import Captured
from tests.support.otlp import exporting_to
from tests.support.procs import Service


@pytest.fixture
def topology():
    """Exchange and queue names on the local RabbitMQ for this test alone, deleted after it."""
    with rabbit.private_topology() as names:
        yield names


@pytest.fixture
def tracing():
    """A tracer provider and the in-memory exporter of the spans it finished."""
    captured = Captured()
    yield captured.provider, captured.exporter
    captured.close()


@pytest.fixture
def app(make_app):
    """The app of the folder's ``make_app`` fixture with its default config."""
    return make_app()


@pytest.fixture
def client(app):
    """A Flask test client of ``app``."""
    return app.test_client()


@pytest.fixture
def start_sample(otlp_receiver, tmp_path):
    """Start the sample app under real gunicorn, exporting to the test's OTLP receiver."""
    started = []

    def start(name="sample", **env):
        service = Service(
            "tests.sample.app:create_app()",
            env={
                "SAMPLE_NAME": name,
                **exporting_to(otlp_receiver.endpoint),
                "SERVICE_VERSION": "9.9.9",
                "TIENDA_ENV": "test",
                **env,
            },
            log_path=tmp_path / f"{name}.log",
        )
        started.append(service)
        return service

    yield start
    for service in reversed(started):
        service.stop()
