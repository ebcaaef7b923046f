"""A ``cancelling`` status: a cancel is persisted before its refund and stock return, so that one interrupted half
way (refund done, return failed, or the process killed) is finished by the recovery sweep."""

from alembic import op

from services.common.migrations import replace_check

revision = "0003"
down_revision = "0002"

#: The check as 0001 created it (through the naming convention), and as this migration names it.
FIRST_NAME, NAME = "ck_orders_ck_orders_status", "ck_orders_status"
OLD_STATUSES = "status IN ('pending', 'reserved', 'paid', 'confirmed', 'failed', 'cancelled', 'compensating')"
STATUSES = "status IN ('pending', 'reserved', 'paid', 'confirmed', 'failed', 'cancelled', 'compensating', 'cancelling')"


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        replace_check(batch, FIRST_NAME, STATUSES, NAME)


def downgrade() -> None:
    # An order being cancelled has been refunded or is about to be: it goes back to confirmed, and cancelling it
    # again finishes the job (every step is idempotent).
    op.execute("UPDATE orders SET status = 'confirmed' WHERE status = 'cancelling'")
    with op.batch_alter_table("orders") as batch:
        replace_check(batch, NAME, OLD_STATUSES, FIRST_NAME)
