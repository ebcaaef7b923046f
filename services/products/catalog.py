"""The demo catalog inserted on the first start (when no product was ever created), 1000 of each in stock.

Its products are the rows of ``catalog.csv`` beside this module: sku, name, description, price in cents (EUR).
"""

from __future__ import annotations

import csv
from pathlib import Path

from .domain import NewProduct

DEMO_STOCK = 1000
CATALOG_FILE = Path(__file__).with_name("catalog.csv")


def _read(path: Path) -> tuple[NewProduct, ...]:
    with path.open(newline="", encoding="utf-8") as rows:
        return tuple(
            NewProduct(row["sku"], row["name"], int(row["price_cents"]), row["description"], stock=DEMO_STOCK)
            for row in csv.DictReader(rows)
        )


DEMO_CATALOG: tuple[NewProduct, ...] = _read(CATALOG_FILE)
