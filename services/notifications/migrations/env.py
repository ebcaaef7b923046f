"""Alembic environment of the notifications service: runs on the connection ``services.common.db.migrate`` opens."""

from services.common.db import run_migrations_online
from services.notifications.store import Base

run_migrations_online(Base.metadata)
