"""Voids: a ``voided`` status (a tombstone of amount 0 when the saga was never charged, so a late charge is refused)
and ``void_requested`` (a void that arrived while the payment was still at the provider: whoever settles it
refunds it instead of leaving it completed)."""

import sqlalchemy as sa
from alembic import op

from services.common.migrations import replace_check

revision = "0003"
down_revision = "0002"

OLD_STATUSES = "status IN ('processing', 'completed', 'declined', 'refunded')"
STATUSES = "status IN ('processing', 'completed', 'declined', 'refunded', 'voided')"


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("void_requested", sa.Boolean(), nullable=False, server_default=sa.false()))
        replace_check(batch, "ck_payments_ck_payments_status", STATUSES, "ck_payments_status")
        replace_check(
            batch, "ck_payments_ck_payments_amount_positive", "amount_cents >= 0", "ck_payments_amount_not_negative"
        )


def downgrade() -> None:
    op.execute("DELETE FROM payments WHERE status = 'voided'")
    with op.batch_alter_table("payments") as batch:
        replace_check(
            batch, "ck_payments_amount_not_negative", "amount_cents > 0", "ck_payments_ck_payments_amount_positive"
        )
        replace_check(batch, "ck_payments_status", OLD_STATUSES, "ck_payments_ck_payments_status")
        batch.drop_column("void_requested")
