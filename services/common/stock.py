"""A product's stock figures, as products reports them (``GET /audit/stock``) and the integrity audit checks them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProductStock:
    """A product's stock as the integrity audit checks it: ``stock + held + committed == initial_stock +
    restocked`` (held and committed are the quantities of reservations in those states)."""

    product_id: int
    stock: int
    initial_stock: int
    restocked: int
    held: int
    committed: int
