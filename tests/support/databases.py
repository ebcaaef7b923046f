"""Fresh databases for tests: a SQLite file, or a new PostgreSQL database on the local server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
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


@contextmanager
def databases(kind: str, directory: Path, names: Iterable[str]) -> Iterator[dict[str, str]]:
    """A fresh ``kind`` database per name (as :func:`database`), all created together and all dropped together:
    PostgreSQL takes about a second for each CREATE DATABASE."""
    names = list(names)
    entered: list[AbstractContextManager[str]] = []

    def create(name: str) -> str:
        context = database(kind, directory, name)
        url = context.__enter__()
        entered.append(context)
        return url

    try:
        with ThreadPoolExecutor(len(names)) as pool:
            urls = dict(zip(names, pool.map(create, names), strict=True))
        yield urls
    finally:
        with ThreadPoolExecutor(len(names)) as pool:
            list(pool.map(lambda context: context.__exit__(None, None, None), entered))
