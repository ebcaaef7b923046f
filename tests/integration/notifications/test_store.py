"""Notifications' store on SQLite and PostgreSQL: a repeated event is recorded once, and a row the table's
CHECK refuses is an error, never taken for a repeat (which would acknowledge the event and lose it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from services.common.db import Database, migrate
from services.notifications.app import MIGRATIONS
from services.notifications.domain import NewNotification
from services.notifications.store import SqlNotificationRepository


@pytest.fixture
def store(database_url):
    db = Database(database_url)
    migrate(db.engine, "notifications", MIGRATIONS)
    yield SqlNotificationRepository(db), db
    db.engine.dispose()


def notification(kind: str = "order_confirmed", event_id: str | None = None) -> NewNotification:
    return NewNotification(event_id or uuid.uuid4().hex, kind, 41, 7, "Your order 41 is confirmed.", datetime.now(UTC))  # type: ignore[arg-type]


def stored_kinds(db: Database) -> list[str]:
    with db.engine.connect() as connection:
        return [row.kind for row in connection.execute(text("SELECT kind FROM notifications ORDER BY id"))]


def test_an_event_applied_twice_is_recorded_once_and_the_repeat_answers_false(store):
    repository, db = store
    first = notification()

    assert repository.record(first) is True
    assert repository.record(first) is False
    assert stored_kinds(db) == ["order_confirmed"]


def test_a_kind_the_contract_does_not_name_is_refused_by_the_table_not_taken_for_a_repeated_event(store):
    repository, db = store

    with pytest.raises(IntegrityError):
        repository.record(notification(kind="order_shipped"))

    assert stored_kinds(db) == []
