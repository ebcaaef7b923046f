"""Key payments by saga id: a unique ``saga_id``; ``order_id`` no longer unique (kept for reading, indexed).

An orders database restored or reset alone hands out old order ids again; each new checkout has a new random
saga id, so it can never be answered with another order's charge. A payment made before this migration (one
per order then) gets the key its order was charged under, ``order-{order_id}``: the orders migration gives that
order the same saga id, so a void or a refund of an old order still finds its charge.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("payments", sa.Column("saga_id", sa.String(length=32), nullable=True))
    payments = sa.table(
        "payments", sa.column("id", sa.BigInteger()), sa.column("order_id", sa.BigInteger()), sa.column("saga_id")
    )
    connection = op.get_bind()
    for payment_id, order_id in connection.execute(sa.select(payments.c.id, payments.c.order_id)).all():
        legacy = f"order-{order_id}"
        connection.execute(payments.update().where(payments.c.id == payment_id).values(saga_id=legacy))
    with op.batch_alter_table("payments") as batch:
        batch.alter_column("saga_id", existing_type=sa.String(length=32), nullable=False)
        batch.drop_constraint("uq_payments_order_id", type_="unique")
        batch.create_unique_constraint("uq_payments_saga_id", ["saga_id"])
    op.create_index("ix_payments_order_id", "payments", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_payments_order_id", table_name="payments")
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint("uq_payments_saga_id", type_="unique")
        batch.create_unique_constraint("uq_payments_order_id", ["order_id"])
        batch.drop_column("saga_id")
