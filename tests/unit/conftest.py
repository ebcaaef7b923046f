"""Fixtures of the telemetry unit tests: the instrumented sample app."""

import pytest

from tests.support.sample_harness import Harness


@pytest.fixture
def harness(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    h = Harness()
    yield h
    h.provider.shutdown()
