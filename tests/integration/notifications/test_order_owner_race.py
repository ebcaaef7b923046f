"""Two events of one order applied at once, as two notifications replicas on one queue do: both carry the order's
customer, both find no owner recorded yet, and both write it. The second must wait for the first and keep its own
notification, not take the owner's unique key for a redelivery of its event and lose it."""

import threading
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import insert, text

from services.common.db import Database, migrate
from services.notifications.app import MIGRATIONS
from services.notifications.domain import NewNotification
from services.notifications.store import OrderOwnerRow, SqlNotificationRepository
from tests.support.databases import postgres_database

ORDER, CUSTOMER = 27, 6


def _cancelled() -> NewNotification:
    return NewNotification(uuid.uuid4().hex, "order_cancelled", ORDER, CUSTOMER, "cancelled", datetime.now(UTC))


def test_an_order_event_applied_while_a_twin_writes_its_owner_is_recorded_not_taken_for_a_duplicate():
    with postgres_database("tienda_test_notifications_race") as url:
        db = Database(url)
        try:
            migrate(db.engine, "notifications", MIGRATIONS)
            repository = SqlNotificationRepository(db)
            twin = db.engine.connect()
            twin.begin()  # the other replica, mid-transaction: it wrote the owner and has not committed yet
            twin.execute(insert(OrderOwnerRow).values(order_id=ORDER, user_id=CUSTOMER))
            applied: list[bool] = []
            recording = threading.Thread(target=lambda: applied.append(repository.record(_cancelled())))
            recording.start()
            _until_waiting_for_a_lock(db)
            twin.commit()
            twin.close()
            recording.join(10)

            assert applied == [True]
            with db.engine.connect() as connection:
                kinds = connection.execute(text("SELECT kind FROM notifications WHERE order_id = :o"), {"o": ORDER})
                assert [row.kind for row in kinds] == ["order_cancelled"]
        finally:
            db.engine.dispose()


def _until_waiting_for_a_lock(db: Database) -> None:
    """Return once a session of this database waits on a lock (the recording, behind the twin's owner row)."""
    deadline = time.monotonic() + 10
    with db.engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )  # fmt: skip
            ).scalar()
            connection.rollback()  # a fresh snapshot each time
            if waiting:
                return
            time.sleep(0.05)  # polling interval
    raise AssertionError("the recording never waited for the twin's owner row")
