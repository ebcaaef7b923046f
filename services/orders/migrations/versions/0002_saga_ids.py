"""Give every order a ``saga_id``: the random id (UUID4, 32 hex digits) products and payments key its checkout by.

Database ids are not used across services: an orders database restored or reset alone hands out old ids again.
Orders stored before this migration keep the key products and payments already know them by, ``order-{id}``
(their reservation id, and the saga id the payments migration gives their charge), so a sweep that finishes or
cancels one of them still reaches its stock and its charge.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("orders", sa.Column("saga_id", sa.String(length=32), nullable=True))
    orders = sa.table("orders", sa.column("id", sa.BigInteger()), sa.column("saga_id", sa.String()))
    connection = op.get_bind()
    for (order_id,) in connection.execute(sa.select(orders.c.id)).all():
        connection.execute(orders.update().where(orders.c.id == order_id).values(saga_id=f"order-{order_id}"))
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("saga_id", existing_type=sa.String(length=32), nullable=False)
        batch.create_unique_constraint("uq_orders_saga_id", ["saga_id"])


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint("uq_orders_saga_id", type_="unique")
        batch.drop_column("saga_id")
