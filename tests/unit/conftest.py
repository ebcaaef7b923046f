"""Fixtures of the telemetry unit tests: the instrumented sample app, and plain upstream servers."""

import pytest

from tests.support.header_recorder import HeaderRecorder
from tests.support.sample_harness import Harness


@pytest.fixture
def harness(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    h = Harness()
    yield h
    h.provider.shutdown()


@pytest.fixture
def make_harness(monkeypatch):
    """Make sample apps with the given environment (``make(FAULTS=...)``); all are shut down afterwards."""
    made = []

    def make(**env):
        monkeypatch.setenv("LOG_LEVEL", "INFO")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        h = Harness()
        made.append(h)
        return h

    yield make
    for h in made:
        h.provider.shutdown()


@pytest.fixture
def upstream():
    """The internal upstream: a server recording the headers it receives."""
    with HeaderRecorder() as server:
        yield server


@pytest.fixture
def other_host():
    """A second header-recording server, standing for a host outside tienda."""
    with HeaderRecorder() as server:
        yield server
