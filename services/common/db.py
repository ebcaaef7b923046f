"""Database plumbing shared by the services: engine, sessions, migrations, DB spans, health check.

Each service owns its database (SQLite file by default, PostgreSQL via ``DATABASE_URL``). SQLite is set up
for concurrent use by gunicorn's threads: WAL journal, a busy timeout, foreign keys on, and every
transaction opened with ``BEGIN IMMEDIATE`` so two writers queue on the lock instead of failing with
"database is locked" when a read transaction tries to upgrade.

Schema changes are Alembic migrations in ``services/<name>/migrations``, applied by :func:`migrate` when
the service starts. Each service keeps its own version table (``alembic_version_<service>``), so even a
shared database would not mix their histories.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from alembic import command
from alembic.config import Config
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Status, StatusCode
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Connection,
    CursorResult,
    Engine,
    Integer,
    MetaData,
    Result,
    Select,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

#: Constraint and index names every service's tables use, so migrations can name what they alter.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def schema_metadata() -> MetaData:
    """A service's own ``MetaData``, naming its constraints and indexes by :data:`NAMING_CONVENTION`."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def one_of(column: str, values: Iterable[str]) -> CheckConstraint:
    """A CHECK that ``column`` holds one of ``values``, named ``column``: a contract's statuses or roles, so that
    the table refuses what the contract does (``ck_<table>_<column>`` by :data:`NAMING_CONVENTION`)."""
    return CheckConstraint(f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")", name=column)


#: Primary key type: SQLite only auto-increments an ``INTEGER PRIMARY KEY``; elsewhere ids are 64-bit.
ID = BigInteger().with_variant(Integer(), "sqlite")


if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Record = TypeVar("Record", bound="DataclassInstance")


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime: SQLite hands them back without a zone; all were written in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def from_row(record: type[Record], row: object, **given: Any) -> Record:
    """The dataclass ``record`` from the same-named attributes of ``row``, but for the fields ``given``.

    The row's datetimes come back in UTC (:func:`as_utc`); a field the row lacks is an AttributeError.
    """
    values = {f.name: getattr(row, f.name) for f in fields(record) if f.init and f.name not in given}
    moments = {name: as_utc(value) for name, value in values.items() if isinstance(value, datetime)}
    return record(**{**values, **moments, **given})


def rows_matched(result: Result[Any]) -> int:
    """How many rows the UPDATE or DELETE that gave ``result`` matched (its conditional answer)."""
    return cast(CursorResult[Any], result).rowcount


def keyset(
    statement: Select[Any], key: InstrumentedAttribute[Any], *, after: Any, until: Any, limit: int
) -> Select[Any]:
    """``statement`` narrowed to one keyset page (``services.common.contract.KeysetQuery``): rows whose ``key`` is
    after ``after`` and up to ``until`` (None: unbounded), in key order, at most ``limit``. ``key`` must be
    unique, indexed and never change."""
    if after is not None:
        statement = statement.where(key > after)
    if until is not None:
        statement = statement.where(key <= until)
    return statement.order_by(key).limit(limit)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=10)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: object) -> None:
            dbapi_connection.isolation_level = None  # let the "begin" hook below issue BEGIN
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        # SQLite allows one writer per file; when it is busy, waiters poll with sleeps of up to 100 ms,
        # which put whole seconds into p99 under 8 threads. Queue this process's transactions on a lock
        # instead, so each starts the moment the previous one ends; busy_timeout still covers other
        # processes (migrations, the admin CLI).
        writer = threading.RLock()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            writer.acquire()
            try:
                # On the driver's connection, not through SQLAlchemy: a BEGIN says nothing a trace needs (every
                # transaction has one), and as a statement it was a span of its own, a third of a saga's DB spans.
                connection.connection.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
            except sqlite3.Error as exc:
                writer.release()
                raise DBAPIError.instance("BEGIN IMMEDIATE", None, exc, sqlite3.Error) from exc
            except BaseException:
                writer.release()
                raise
            connection.info["tienda.writer"] = True

        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _on_end(connection: Connection) -> None:
            # commit then rollback can both fire for one transaction (a failed COMMIT): release once.
            if connection.info.pop("tienda.writer", False):
                writer.release()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=10, max_overflow=5, pool_pre_ping=True, pool_recycle=1800)


def instrument_engine(engine: Engine, tracer_provider: TracerProvider | None) -> None:
    """Make a span per SQL statement on ``engine`` (statement text, never its parameters): :class:`StatementSpans`."""
    if tracer_provider is None:
        return
    StatementSpans(tracer_provider.get_tracer(STATEMENT_SCOPE), engine)


#: The instrumentation scope of the statement spans: opentelemetry-instrumentation-sqlalchemy's, whose spans
#: these are (same names, attributes and status).
STATEMENT_SCOPE = "opentelemetry.instrumentation.sqlalchemy"
_LEADING_COMMENT = re.compile(r"^/\*.*?\*/")


@functools.lru_cache(maxsize=1024)
def _operation(statement: str, database: str | None, system: str) -> str:
    """A statement span's name: the statement's first word and the database, as the contrib package names it."""
    tokens = _LEADING_COMMENT.sub("", statement).split()
    parts = [tokens[0]] if tokens else []
    if database:
        parts.append(database)
    return " ".join(parts) if parts else system


class StatementSpans:
    """A CLIENT span per SQL statement run on ``engine``, the spans opentelemetry-instrumentation-sqlalchemy makes.

    Each span is named by the statement's first word and the database (``SELECT tienda``) and carries what that
    package's ``EngineTracer`` gives it under its default (pre-stable) conventions: ``net.peer.name``,
    ``net.peer.port``, ``db.name`` and ``db.user`` from the engine's URL, ``db.statement`` (the text, never the
    parameters; secrets in it are redacted on export), ``db.system`` and ``db.operation``. A statement that fails
    ends its span with status ERROR and the error's text. tests/integration/test_statement_spans.py holds the
    two to the same spans.

    Written here instead of attaching that ``EngineTracer`` (which this module did before), because every saga
    step runs several statements and its tracer was the largest telemetry cost of an order: it works the
    engine's attributes out of its URL again for every statement, parses the statement for the name each time,
    gives the span its attributes one ``set_attribute`` at a time (a lock and a validation each) and listens to
    every pool checkout and checkin for a connection-usage metric this project never exported. Here the
    engine's attributes are worked out once, a statement's name once per text, and the attributes go to
    ``start_span`` in one go (docs/overhead-analysis.md has the measurement). Attached per engine, not with
    the contrib package's global ``create_engine`` patch, so a second app in one process (tests, tools) gets
    its spans too.
    """

    def __init__(self, tracer: trace.Tracer, engine: Engine) -> None:
        self.tracer = tracer
        name = engine.name
        self.system = "sqlite" if "sqlite" in name else "postgresql" if "postgres" in name else name
        url = engine.url
        self.database = url.database
        attributes: dict[str, str | int] = {}
        if url.host:
            attributes["net.peer.name"] = url.host
        if url.port:
            attributes["net.peer.port"] = url.port
        if url.database:
            attributes["db.name"] = url.database
        if url.username:
            attributes["db.user"] = url.username
        self.attributes = attributes
        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)
        event.listen(engine, "handle_error", self.failed)

    def before(self, conn: Connection, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if not is_instrumentation_enabled():
            return
        operation = _operation(statement, self.database, self.system)
        attributes = {**self.attributes, "db.statement": statement, "db.system": self.system, "db.operation": operation}
        context._tienda_span = self.tracer.start_span(operation, kind=trace.SpanKind.CLIENT, attributes=attributes)

    def after(self, conn: Connection, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        span = getattr(context, "_tienda_span", None)
        if span is not None:
            span.end()

    def failed(self, exception_context: ExceptionContext) -> None:
        span = getattr(exception_context.execution_context, "_tienda_span", None)
        if span is None:
            return
        if span.is_recording():
            span.set_status(Status(StatusCode.ERROR, str(exception_context.original_exception)))
        span.end()


def migrate(engine: Engine, service: str, migrations_dir: Path, target: str = "head") -> None:
    """Apply every pending migration of ``service`` (up to revision ``target``; tests of a migration stop early)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("version_table", f"alembic_version_{service}")
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Replicas starting together take turns; the lock ends with the transaction.
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"migrate:{service}"})
        config.attributes["connection"] = connection
        command.upgrade(config, target)


def run_migrations_online(target_metadata: MetaData | None = None) -> None:
    """Body of every service's ``migrations/env.py``: run on the connection :func:`migrate` passed in."""
    from alembic import context

    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=context.config.get_main_option("version_table"),
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


class Database:
    """An engine and its session factory; ``session()`` is a unit of work that commits or rolls back."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A unit of work on SQLAlchemy Core, without the ORM session's bookkeeping (the hot paths of the saga):
        commits when the block ends, rolls back when it raises."""
        with self.engine.begin() as connection:
            yield connection

    def check(self) -> None:
        """Readiness check: the database answers a trivial query."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()
