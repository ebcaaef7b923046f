"""What an app's telemetry wrote, kept in memory: finished spans, a metrics registry and the JSON log lines.

The harnesses of the sample app, the gateway, orders and products are each a :class:`Captured` with an app;
:func:`instrumented` gives a typed client under test the telemetry handle it needs, on an app serving nothing.
"""

from __future__ import annotations

import io
import json
from typing import Any

from flask import Flask
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Sampler
from prometheus_client import CollectorRegistry

import telemetry


class Captured:
    """A tracer provider exporting to memory, a registry of its own and a log stream, for one app under test."""

    def __init__(self, sampler: Sampler = ALWAYS_ON) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(sampler=sampler)
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.registry = CollectorRegistry()
        self.stream = io.StringIO()

    @property
    def telemetry_config(self) -> dict[str, Any]:
        """The keywords of ``telemetry.instrument`` (and keys of a service's ``create_app`` config) that send here."""
        return {"tracer_provider": self.provider, "registry": self.registry, "log_stream": self.stream}

    def spans(self):
        return self.exporter.get_finished_spans()

    def logs(self) -> list[dict]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def close(self) -> None:
        self.provider.shutdown()


def instrumented(service_name: str, captured: Captured | None = None) -> telemetry.Telemetry:
    """The telemetry handle of ``service_name`` for its typed clients, recording into ``captured`` (or a new one)."""
    captured = captured or Captured()
    return telemetry.instrument(Flask(f"{service_name}-test"), service_name=service_name, **captured.telemetry_config)
