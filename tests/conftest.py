import pytest

from tests.support.otlp import OtlpReceiver


@pytest.fixture
def otlp_receiver():
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()
