"""Voids: a ``voided`` status (a tombstone of amount 0 when the saga was never charged, so a late charge is refused)
and ``void_requested`` (a void that arrived while the payment was still at the provider: whoever settles it
refunds it instead of leaving it completed)."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

OLD_STATUSES = "status IN ('processing', 'completed', 'declined', 'refunded')"
STATUSES = "status IN ('processing', 'completed', 'declined', 'refunded', 'voided')"


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("void_requested", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.drop_constraint("ck_payments_status", type_="check")
        batch.create_check_constraint(op.f("ck_payments_status"), STATUSES)
        batch.drop_constraint("ck_payments_amount_positive", type_="check")
        batch.create_check_constraint(op.f("ck_payments_amount_not_negative"), "amount_cents >= 0")


def downgrade() -> None:
    op.execute("DELETE FROM payments WHERE status = 'voided'")
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint("ck_payments_amount_not_negative", type_="check")
        batch.create_check_constraint(op.f("ck_payments_amount_positive"), "amount_cents > 0")
        batch.drop_constraint("ck_payments_status", type_="check")
        batch.create_check_constraint(op.f("ck_payments_status"), OLD_STATUSES)
        batch.drop_column("void_requested")
