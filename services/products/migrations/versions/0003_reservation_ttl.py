"""An index for the reservation TTL sweeper's query: the reservations still ``held`` created before a cutoff."""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_index("ix_reservations_status_created_at", "reservations", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_reservations_status_created_at", table_name="reservations")
