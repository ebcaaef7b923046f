"""``status_changed_at``: when an order entered its status, so that the integrity bound of a cancel counts from the
cancel, not from the day the order was placed. Existing orders take their last update's time."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE orders SET status_changed_at = updated_at")
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("status_changed_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("status_changed_at")
