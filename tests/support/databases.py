"""Fresh databases for tests: a SQLite file, or a new PostgreSQL database on the local server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

#: The local PostgreSQL server (trust auth). Override with TEST_POSTGRES_URL.
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def postgres_database(prefix: str = "tienda_test") -> Iterator[str]:
    """Create an empty database, yield its SQLAlchemy URL, drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def sqlite_database(directory: Path, name: str = "test") -> Iterator[str]:
    yield f"sqlite:///{directory / (name + '.db')}"


@contextmanager
def database(kind: str, directory: Path, name: str = "test") -> Iterator[str]:
    """``kind`` is ``sqlite`` or ``postgres``."""
    if kind == "postgres":
        with postgres_database(f"tienda_test_{name}") as url:
            yield url
    else:
        with sqlite_database(directory, name) as url:
            yield url
