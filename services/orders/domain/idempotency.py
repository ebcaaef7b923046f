"""Idempotent checkouts: an ``Idempotency-Key`` makes ``POST /orders`` safe to retry.

The first request with a key inserts its order with that key (unique per user) and a keyed fingerprint of the
request; the answer it gives is stored on the order, and a replay with the same key and the same body gets that
stored answer without running the saga again. The fingerprint is an HMAC, so the stored value reveals nothing
about the card.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import replace

from .errors import DuplicateIdempotencyKey, IdempotencyKeyInProgress, IdempotencyKeyReused
from .model import Order, Outcome, PlaceOrder
from .ports import OrderRepository

log = logging.getLogger("services.orders")


def fingerprint(key: bytes, command: PlaceOrder) -> str:
    """The HMAC-SHA256 (keyed by ``key``) of what makes two requests the same: items and card."""
    canonical = json.dumps(
        {
            "items": [[line.product_id, line.quantity] for line in command.lines],
            "card": [command.card.number, command.card.expiry, command.card.cvc],
        },
        separators=(",", ":"),
    )
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def add_once(orders: OrderRepository, order: Order) -> Order | Outcome:
    """Insert ``order``, or, when its user already sent its idempotency key, answer as that request did.

    Returns the inserted order (its saga is to run), or the stored success answer of the earlier request.
    Raises the earlier request's error answer (:class:`ReplayedError`), :class:`IdempotencyKeyReused` when
    the earlier request was a different one, :class:`IdempotencyKeyInProgress` while it has no answer yet.
    """
    key = order.idempotency_key
    if key is None:
        return orders.add(order)
    existing = orders.get_by_idempotency_key(order.user_id, key)
    if existing is None:
        try:
            return orders.add(order)
        except DuplicateIdempotencyKey:
            existing = orders.get_by_idempotency_key(order.user_id, key)
            if existing is None:  # the other request's insert was rolled back: it is still ours to try
                raise IdempotencyKeyInProgress("A request with this Idempotency-Key is in progress.") from None
    return replay(existing, order.request_fingerprint)


def replay(existing: Order, fingerprint: str | None) -> Outcome:
    """The stored answer of ``existing`` for a request with the same key and ``fingerprint``."""
    if existing.request_fingerprint is None or not hmac.compare_digest(existing.request_fingerprint, fingerprint or ""):
        raise IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
    if existing.outcome is None:
        raise IdempotencyKeyInProgress("A request with this Idempotency-Key is in progress.")
    log.info(
        "order replayed",
        extra=existing.log_fields("order.replayed", status_code=existing.outcome.status),
    )
    if existing.outcome.is_error:
        raise existing.outcome.as_error()
    return replace(existing.outcome, replayed=True)
