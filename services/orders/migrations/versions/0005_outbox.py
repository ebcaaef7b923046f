"""The transactional outbox: order.confirmed, order.failed and order.cancelled are recorded in the transaction of
the state change they report, and the relay publishes them (services/common/events.py, relay.py)."""

from alembic import op

from services.common.migrations import create_outbox

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    create_outbox()


def downgrade() -> None:
    op.drop_table("outbox")
