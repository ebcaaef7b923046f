"""deploy/compose/postgres-init/10-tienda-databases.sh, run for real against the local PostgreSQL server.

The postgres image runs the script with psql on its own socket; here the same script talks to the test
server through PGHOST/PGPORT (TEST_POSTGRES_URL, as in tests/support/databases.py), with unique names,
and everything it created is dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.support.compose import ROOT
from tests.support.databases import POSTGRES_ADMIN_URL

SCRIPT = ROOT / "deploy/compose/postgres-init/10-tienda-databases.sh"
PASSWORD = 'it\'s a "demo" password; with $ and \\'


def run_script(databases: str, password: str = PASSWORD) -> subprocess.CompletedProcess:
    if shutil.which("psql") is None:
        pytest.fail("psql is needed to run the PostgreSQL init script: apt-get install -y postgresql-client")
    admin = urlsplit(POSTGRES_ADMIN_URL)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PGHOST": admin.hostname or "127.0.0.1",
        "PGPORT": str(admin.port or 5432),
        "POSTGRES_USER": admin.username or "postgres",
        "POSTGRES_DB": admin.path.lstrip("/") or "postgres",
        "TIENDA_DATABASES": databases,
        "TIENDA_DB_PASSWORD": password,
    }
    if admin.password:
        env["PGPASSWORD"] = admin.password
    return subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False)


def connect_as(role: str, database: str) -> psycopg.Connection:
    admin = urlsplit(POSTGRES_ADMIN_URL)
    return psycopg.connect(
        host=admin.hostname or "127.0.0.1",
        port=admin.port or 5432,
        user=role,
        password=PASSWORD,
        dbname=database,
        autocommit=True,
    )


def drop(names: list[str]) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def existing(names: list[str]) -> set[str]:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        databases = {row[0] for row in conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", [names])}
        roles = {row[0] for row in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [names])}
    return databases | roles


@pytest.fixture
def names():
    prefix = f"tienda_ct_{uuid.uuid4().hex[:8]}"
    created = [f"{prefix}_orders", f"{prefix}_payments"]
    yield created
    drop(created)


def test_the_init_script_gives_each_service_its_own_role_and_database(names):
    result = run_script(" ".join(names))
    assert result.returncode == 0, result.stderr
    for name in names:
        with connect_as(name, name) as conn:
            conn.execute("CREATE TABLE migrated (id integer PRIMARY KEY)")  # what Alembic does at start
            owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [name])
            assert owner.fetchone()[0] == name


def test_no_service_can_connect_to_another_services_database(names):
    assert run_script(" ".join(names)).returncode == 0
    orders, payments = names
    with pytest.raises(psycopg.OperationalError, match="permission denied|CONNECT privilege"):
        connect_as(orders, payments).close()


def test_the_init_script_refuses_a_name_that_is_not_a_plain_identifier_and_creates_nothing(names):
    bad = names[0].upper()
    result = run_script(bad)
    assert result.returncode != 0
    assert "not a plain lower-case identifier" in result.stderr
    assert not existing([bad, bad.lower()])


def test_the_init_script_stops_at_the_first_error_instead_of_half_initialising(names):
    assert run_script(names[0]).returncode == 0
    result = run_script(f"{names[0]} {names[1]}")  # the first already exists
    assert result.returncode != 0
    assert names[1] not in existing(names)
