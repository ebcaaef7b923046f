"""Every service's migrations go down to an empty database and up again, on SQLite and PostgreSQL.

A downgrade is what an operator runs to back out a release; one that fails half way leaves a schema no version
of the code knows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect

from services.common.db import migrate

SERVICES = Path(__file__).resolve().parents[3] / "services"
MIGRATED = sorted(p.parent.name for p in SERVICES.glob("*/migrations"))


def _downgrade_to_base(engine, service: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(SERVICES / service / "migrations"))
    config.set_main_option("version_table", f"alembic_version_{service}")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")


@pytest.mark.parametrize("service", MIGRATED)
def test_a_services_migrations_downgrade_to_an_empty_schema_and_upgrade_again(database_url, service):
    engine = create_engine(database_url)
    try:
        migrate(engine, service, SERVICES / service / "migrations")
        tables = set(inspect(engine).get_table_names())
        _downgrade_to_base(engine, service)
        assert set(inspect(engine).get_table_names()) == {f"alembic_version_{service}"}
        migrate(engine, service, SERVICES / service / "migrations")
        assert set(inspect(engine).get_table_names()) == tables
    finally:
        engine.dispose()
