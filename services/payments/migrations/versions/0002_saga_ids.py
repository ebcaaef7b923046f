"""Key payments by saga id: a unique ``saga_id``; ``order_id`` no longer unique (kept for reading, indexed).

An orders database restored or reset alone hands out old order ids again; each new checkout has a new random
saga id, so it can never be answered with another order's charge. Payments made before this migration get a
fresh random saga id each: no saga of orders refers to them, so they are never replayed.
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("payments", sa.Column("saga_id", sa.String(length=32), nullable=True))
    payments = sa.table("payments", sa.column("id", sa.BigInteger()), sa.column("saga_id", sa.String()))
    connection = op.get_bind()
    for (payment_id,) in connection.execute(sa.select(payments.c.id)).all():
        connection.execute(payments.update().where(payments.c.id == payment_id).values(saga_id=uuid.uuid4().hex))
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
