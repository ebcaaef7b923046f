"""Every service's migrations create exactly the schema its SQLAlchemy models describe, on SQLite and PostgreSQL.

The migrations are history and never change meaning, so they spell their columns out; the models build theirs
from the contracts' limits and statuses. This is what holds the two together: a limit changed in a contract
without a migration fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, MetaData, create_engine, inspect

from services.common.db import migrate
from services.notifications.store import Base as NotificationsBase
from services.orders.store import Base as OrdersBase
from services.payments.provider import LedgerBase
from services.payments.store import Base as PaymentsBase
from services.products.store import Base as ProductsBase
from services.users.store import Base as UsersBase

SERVICES = Path(__file__).resolve().parents[3] / "services"
#: Each service's models: payments keeps the simulated provider's ledger in its own database too.
MODELS: dict[str, list[MetaData]] = {
    "notifications": [NotificationsBase.metadata],
    "orders": [OrdersBase.metadata],
    "payments": [PaymentsBase.metadata, LedgerBase.metadata],
    "products": [ProductsBase.metadata],
    "users": [UsersBase.metadata],
}


def test_every_service_with_migrations_has_its_models_listed_here():
    assert sorted(MODELS) == sorted(p.parent.name for p in SERVICES.glob("*/migrations"))


@pytest.mark.parametrize("service", sorted(MODELS))
def test_a_services_migrations_create_exactly_the_tables_columns_and_indexes_of_its_models(database_url, service):
    engine = create_engine(database_url)
    try:
        migrate(engine, service, SERVICES / service / "migrations")
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": f"alembic_version_{service}"})
            differences = compare_metadata(context, MODELS[service])
    finally:
        engine.dispose()
    assert differences == []


def checks_of(tables: dict[str, list[str]]) -> dict[str, list[str]]:
    return {table: sorted(" ".join(text.split()) for text in texts) for table, texts in tables.items() if texts}


@pytest.mark.parametrize("service", sorted(MODELS))
def test_a_services_migrations_create_exactly_the_check_constraints_of_its_models(tmp_path, service):
    """Autogenerate's comparison above leaves CHECKs out. SQLite keeps a CHECK as it was written, so the
    conditions are compared there; the names are not (the first migrations' checks carry the naming
    convention's prefix twice, and being history they keep it)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    try:
        migrate(engine, service, SERVICES / service / "migrations")
        inspector = inspect(engine)
        created = {t: [c["sqltext"] for c in inspector.get_check_constraints(t)] for t in inspector.get_table_names()}
    finally:
        engine.dispose()
    declared = {
        table.name: [str(c.sqltext) for c in table.constraints if isinstance(c, CheckConstraint)]
        for metadata in MODELS[service]
        for table in metadata.sorted_tables
    }

    assert checks_of(created) == checks_of(declared)
