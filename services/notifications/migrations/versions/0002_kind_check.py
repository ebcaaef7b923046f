"""A CHECK on ``notifications.kind``: the table refuses a kind the contract does not name."""

from alembic import op

revision = "0002"
down_revision = "0001"

KINDS = "kind IN ('order_confirmed', 'order_failed', 'order_cancelled', 'payment_captured', 'payment_refunded')"


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.create_check_constraint(op.f("ck_notifications_kind"), KINDS)


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint(op.f("ck_notifications_kind"), type_="check")
