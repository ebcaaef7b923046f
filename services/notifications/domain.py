"""What a notification says, and applying each event once.

Each event the service consumes (``services.common.events.Event``) becomes at most one notification. The
repository records the event's id and its notification in one transaction, so a redelivered event (at-least-
once delivery) is recognised and has no second effect. Order events say who the customer is; payment events
name only the order, so the customer of a payment's notification comes from the order events
(``order_owners``), whichever arrives first.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from services.common.auth import Identity
from services.common.errors import Forbidden, InvalidInput
from services.common.events import (
    ORDER_CANCELLED,
    ORDER_CONFIRMED,
    ORDER_FAILED,
    PAYMENT_CAPTURED,
    PAYMENT_REFUNDED,
    Event,
)

from .contract import Kind

#: The notification each event type becomes: its kind (the contract's, checked by mypy) and its message.
_KINDS: Mapping[str, tuple[Kind, str]] = {
    ORDER_CONFIRMED: ("order_confirmed", "Your order {order_id} is confirmed."),
    ORDER_FAILED: ("order_failed", "Your order {order_id} could not be completed; you were not charged."),
    ORDER_CANCELLED: ("order_cancelled", "Your order {order_id} is cancelled."),
    PAYMENT_CAPTURED: ("payment_captured", "We received {amount} for order {order_id}."),
    PAYMENT_REFUNDED: ("payment_refunded", "We refunded {amount} for order {order_id}."),
}


class UnusableEvent(InvalidInput):
    """An event the service cannot turn into a notification (a poison message: retrying will not help)."""


@dataclass(frozen=True)
class NewNotification:
    """What an event tells its customer, not stored yet."""

    event_id: str
    kind: Kind
    order_id: int
    user_id: int | None
    message: str
    occurred_at: datetime


@dataclass(frozen=True)
class Notification(NewNotification):
    """A stored notification: the new one and the id it was stored under."""

    id: int


def render(event: Event) -> NewNotification:
    """The notification ``event`` gives; :class:`UnusableEvent` when its type or data make no sense."""
    if event.type not in _KINDS:
        raise UnusableEvent(f"No notification is made for {event.type!r} events.")
    kind, template = _KINDS[event.type]
    data = event.data
    order_id = data.get("order_id")
    user_id = data.get("user_id")
    if (
        not isinstance(order_id, int)
        or not _positive_int(order_id)
        or (user_id is not None and not _positive_int(user_id))
    ):
        raise UnusableEvent(f"The {event.type} event {event.id} names no valid order or user.")
    amount = data.get("amount_cents")
    text = template.format(order_id=order_id, amount=_money(amount, data.get("currency")))
    return NewNotification(event.id, kind, order_id, user_id, text, event.occurred_at)


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _money(amount_cents: object, currency: object) -> str:
    if not _positive_int(amount_cents) or not isinstance(currency, str):
        return "the amount"
    assert isinstance(amount_cents, int)
    return f"{amount_cents // 100}.{amount_cents % 100:02d} {currency}"


class NotificationRepository(ABC):
    @abstractmethod
    def record(self, new: NewNotification) -> bool:
        """Store ``new`` and mark its event applied, atomically; False when the event was applied before."""

    @abstractmethod
    def page(self, user_id: int | None, limit: int, offset: int) -> list[Notification]:
        """Newest first: one customer's (by the order owners known), or everyone's when ``user_id`` is None."""


class NotificationEvents(ABC):
    """Told about each notification recorded: the port :class:`services.notifications.metrics.NotificationMetrics`
    implements."""

    @abstractmethod
    def recorded(self, kind: str) -> None: ...


class NotificationService:
    def __init__(self, repository: NotificationRepository, events: NotificationEvents) -> None:
        self.repository = repository
        self.events = events

    def apply(self, event: Event) -> bool:
        """Record what ``event`` tells; False when it was a duplicate (nothing changed)."""
        new = render(event)
        applied = self.repository.record(new)
        if applied:
            self.events.recorded(new.kind)
        return applied

    def list_notifications(self, caller: Identity, user_id: int | None, limit: int, offset: int) -> list[Notification]:
        """A customer's own notifications; an admin's choice of one user's (``user_id``), or everyone's."""
        if user_id is not None and not caller.is_admin and user_id != caller.user_id:
            raise Forbidden("Only an admin may read another user's notifications.", code="admin_only")
        wanted = user_id if caller.is_admin else caller.user_id
        return self.repository.page(wanted, limit, offset)
