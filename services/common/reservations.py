"""What a stock reservation holds, as products keeps it and orders reads it back (``POST /reservations``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReservedItem:
    """One item of a reservation: the product, its name and unit price when it was reserved, and how many."""

    product_id: int
    name: str
    quantity: int
    unit_price_cents: int
