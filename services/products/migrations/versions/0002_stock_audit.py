"""Record what the integrity audit balances stock against: ``initial_stock`` (at creation) and ``restocked`` (the
sum of restocks) per product.

Products created before this migration get as initial stock what they hold now plus what their held and
committed reservations took, so that stock + held + committed = initial_stock + restocked holds for them too.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("products", sa.Column("initial_stock", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column("products", sa.Column("restocked", sa.BigInteger(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE products SET initial_stock = stock + COALESCE((SELECT SUM(i.quantity) FROM reservation_items i"
        " JOIN reservations r ON r.id = i.reservation_id WHERE i.product_id = products.id"
        " AND r.status IN ('held', 'committed')), 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_column("restocked")
        batch.drop_column("initial_stock")
