"""The sample app (``tests/sample/app.py``) instrumented in-process, with its spans, metrics and log lines at hand."""

from __future__ import annotations

from opentelemetry.sdk.trace.sampling import ALWAYS_ON

from tests.sample.app import create_app
from tests.support.captured import Captured


class Harness(Captured):
    """An instrumented sample app with its spans, metrics registry and log lines at hand."""

    def __init__(self, sampler=ALWAYS_ON, monkeypatch=None):
        super().__init__(sampler)
        self.app = create_app(**self.telemetry_config)
        self.app.config["TESTING"] = False  # exercise the real error handlers
        self.client = self.app.test_client()
        self.telemetry = self.app.extensions["telemetry"]

    def access_logs(self):
        return [r for r in self.logs() if r["logger"] == "telemetry.access"]

    def sample(self, name, labels):
        return self.registry.get_sample_value(name, labels)
