"""The statement spans of services.common.db are the spans opentelemetry-instrumentation-sqlalchemy makes.

The same statements run on two engines of one database, one with the contrib package's ``EngineTracer`` and one
with :class:`services.common.db.StatementSpans`, each under a server span; every span must come out the same:
name, kind, scope, parent, attributes in their order, status and its description. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import NoOpMeter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from services.common.db import STATEMENT_SCOPE, instrument_engine, make_engine
from tests.support.databases import database

pytestmark = pytest.mark.parametrize("kind", ["sqlite", "postgres"])


@pytest.fixture
def url(kind: str, tmp_path: Path) -> Iterator[str]:
    with database(kind, tmp_path, "statement_spans") as url:
        yield url


def contrib(engine: Engine, provider: TracerProvider) -> None:
    connections = NoOpMeter("test").create_up_down_counter("db.client.connections.usage")
    EngineTracer(provider.get_tracer(STATEMENT_SCOPE), engine, connections, enable_commenter=False)


def ours(engine: Engine, provider: TracerProvider) -> None:
    instrument_engine(engine, provider)


def spans_of(url: str, attach) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    engine = make_engine(url)
    attach(engine, provider)
    try:
        with provider.get_tracer("test").start_as_current_span("request", kind=SpanKind.SERVER):
            with engine.begin() as connection:
                connection.execute(text("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT)"))
                connection.execute(text("INSERT INTO notes (id, body) VALUES (:id, :body)"), [{"id": 1, "body": "a"}])
                connection.execute(text("/* a comment */ select body from notes where id = :id"), {"id": 1})
                connection.execute(text("DELETE FROM notes"))
            with pytest.raises((OperationalError, ProgrammingError)), engine.begin() as connection:
                connection.execute(text("SELECT * FROM no_such_table"))
    finally:
        engine.dispose()
    return [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT]


def described(span: ReadableSpan) -> tuple[object, ...]:
    parent = span.parent.span_id if span.parent is not None else None
    return (
        span.name,
        span.kind,
        span.instrumentation_scope.name if span.instrumentation_scope else None,
        parent is not None,
        list(span.attributes.items()),
        span.status.status_code,
        span.status.description,
    )


def test_every_statement_gets_the_span_the_contrib_tracer_would_give_it(url: str) -> None:
    expected = [described(s) for s in spans_of(url, contrib)]
    assert len(expected) == 5
    assert [described(s) for s in spans_of(url, ours)] == expected


def test_statement_spans_carry_the_statement_text_never_its_parameters(url: str) -> None:
    spans = spans_of(url, ours)
    insert = next(s for s in spans if s.name.startswith("INSERT"))
    assert "INSERT INTO notes" in str(insert.attributes["db.statement"])
    assert "'a'" not in str(insert.attributes["db.statement"])
    failed = spans[-1]
    assert failed.status.status_code.name == "ERROR"
    assert "no_such_table" in (failed.status.description or "")
