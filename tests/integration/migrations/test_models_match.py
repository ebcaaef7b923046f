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
from sqlalchemy import MetaData, create_engine

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
