"""The sample app (``tests/sample/app.py``) instrumented in-process, with its spans, metrics and log lines at hand."""

from __future__ import annotations

import io
import json

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from prometheus_client import CollectorRegistry

from tests.sample.app import create_app


class Harness:
    """An instrumented sample app with its spans, metrics registry and log lines at hand."""

    def __init__(self, sampler=ALWAYS_ON, monkeypatch=None):
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(sampler=sampler)
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.registry = CollectorRegistry()
        self.stream = io.StringIO()
        self.app = create_app(tracer_provider=self.provider, registry=self.registry, log_stream=self.stream)
        self.app.config["TESTING"] = False  # exercise the real error handlers
        self.client = self.app.test_client()
        self.telemetry = self.app.extensions["telemetry"]

    def spans(self):
        return self.exporter.get_finished_spans()

    def logs(self):
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def access_logs(self):
        return [r for r in self.logs() if r["logger"] == "telemetry.access"]

    def sample(self, name, labels):
        return self.registry.get_sample_value(name, labels)
