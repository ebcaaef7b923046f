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


def replace_check(batch: BatchOperations, old_name: str, condition: str, new_name: str) -> None:
    """Drop the check constraint named ``old_name`` and create ``condition`` as ``new_name``.

    Both are the names as they stand in the database, taken as they are (``op.f``): the naming convention
    would otherwise prefix them once more. The first migrations' checks were named through the convention
    (``ck_orders_ck_orders_status``); a later migration that replaces one names the old and the new name in
    full, and its downgrade swaps them, so that it restores exactly the schema it started from.
    """
    batch.drop_constraint(op.f(old_name), type_="check")
    batch.create_check_constraint(op.f(new_name), condition)


def create_outbox() -> None:
    """The ``outbox`` table of :func:`services.common.events.outbox_table`, as its first migration creates it."""
    op.create_table(
        "outbox",
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, autoincrement=True),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("aggregate_type", sa.String(32), nullable=False),
        sa.Column("aggregate_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("position", name="pk_outbox"),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
        sa.UniqueConstraint("aggregate_type", "aggregate_id", "version", name="uq_outbox_aggregate_version"),
    )
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"])


def drop_outbox() -> None:
    """Undo :func:`create_outbox`."""
    op.drop_table("outbox")
