"""Create the payments table."""

import sqlalchemy as sa
from alembic import op

from services.common.migrations import timestamps

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("card_brand", sa.String(length=16), nullable=False),
        sa.Column("card_last4", sa.String(length=4), nullable=False),
        sa.Column("decline_code", sa.String(length=32), nullable=True),
        *timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
        sa.UniqueConstraint("order_id", name="uq_payments_order_id"),
        sa.CheckConstraint("status IN ('processing', 'completed', 'declined', 'refunded')", name="ck_payments_status"),
        sa.CheckConstraint("amount_cents > 0", name="ck_payments_amount_positive"),
    )


def downgrade() -> None:
    op.drop_table("payments")
