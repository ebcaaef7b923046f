"""Alembic environment of the products service: run on the connection ``services.common.db.migrate`` opened."""

from services.common.db import run_migrations_online
from services.products.store import Base

run_migrations_online(Base.metadata)
