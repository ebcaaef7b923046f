"""Alembic environment of the orders service: runs on the connection ``services.common.db.migrate`` opens."""

from services.common.db import run_migrations_online
from services.orders.store import Base

run_migrations_online(Base.metadata)
