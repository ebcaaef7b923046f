"""Pieces the services' Alembic migrations share.

Migrations that already ran call these, so what each one creates must never change: a schema that needs
something else gets a new helper (or writes it out), never an edited one.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations


def timestamps(*names: str) -> list[sa.Column[datetime]]:
    """A not-null, time-zone-aware timestamp column per name (``created_at`` and ``updated_at`` if none)."""
    return [
        sa.Column(name, sa.DateTime(timezone=True), nullable=False) for name in names or ("created_at", "updated_at")
    ]


def replace_check(batch: BatchOperations, name: str, condition: str, *, new_name: str | None = None) -> None:
    """Drop the check constraint ``name`` (its full name) and create ``condition`` as ``new_name`` (or ``name``)."""
    batch.drop_constraint(name, type_="check")
    batch.create_check_constraint(op.f(new_name or name), condition)
