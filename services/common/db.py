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

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from alembic import command
from alembic.config import Config
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import NoOpMeter
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import (
    BigInteger,
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
    """Make a span per SQL statement on ``engine`` (statement text, never its parameters).

    Attaches the contrib package's per-engine tracer directly: ``SQLAlchemyInstrumentor().instrument()``
    works once per process and patches ``create_engine`` globally, so a second app in the same process
    (tests, tools) would silently get no DB spans.
    """
    if tracer_provider is None:
        return
    tracer = tracer_provider.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    connections = NoOpMeter("tienda.db").create_up_down_counter("db.client.connections.usage")
    EngineTracer(tracer, engine, connections, enable_commenter=False)  # type: ignore[no-untyped-call]


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
