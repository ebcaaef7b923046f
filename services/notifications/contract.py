"""The notifications service's contract: its routes, their request and response models, and their limits.

Routes (identity as every service behind the gateway reads it, :mod:`services.common.auth`):

``GET /notifications?limit=&offset=[&user_id=]``
    the caller's notifications, newest first; an admin sees everyone's, or one user's with ``user_id``.
    200 :class:`NotificationPage`; 401 without an identity; 403 when a customer asks for ``user_id``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from services.common.contract import Id, PageQuery

#: What a notification tells, one per event type the service handles.
Kind = Literal["order_confirmed", "order_failed", "order_cancelled", "payment_captured", "payment_refunded"]


class NotificationQuery(PageQuery):
    user_id: Id | None = None


class NotificationOut(BaseModel):
    id: int
    event_id: str
    kind: Kind
    order_id: int
    user_id: int | None
    message: str
    occurred_at: datetime


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    limit: int
    offset: int
