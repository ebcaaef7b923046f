"""The simulated card network's ledger (``provider_authorizations``: the outcome under each idempotency key), and
an index for the reconciler's query of payments left ``processing``."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "provider_authorizations",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("decline_code", sa.String(length=32), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_provider_authorizations"),
        sa.CheckConstraint("outcome IN ('approved', 'declined', 'voided')", name="ck_provider_authorizations_outcome"),
    )
    op.create_index("ix_payments_status_created_at", "payments", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_payments_status_created_at", table_name="payments")
    op.drop_table("provider_authorizations")
