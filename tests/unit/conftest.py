"""Fixtures of the telemetry unit tests: the instrumented sample app, and plain upstream servers."""

import pytest

from tests.support.sample_harness import Harness
from tests.support.scripted_upstream import ScriptedUpstream


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
    """The internal upstream: a :class:`~tests.support.scripted_upstream.ScriptedUpstream`, recording every
    request and answering 200 unless scripted."""
    with ScriptedUpstream() as server:
        yield server


@pytest.fixture
def other_host():
    """A second recording server, standing for a host outside tienda."""
    with ScriptedUpstream() as server:
        yield server
