"""The products app on a fresh database (SQLite and PostgreSQL: ``database_url``), with its spans and logs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from werkzeug.serving import make_server

from services.products.app import create_app
from services.products.domain import NewProduct, Product
from services.products.store import ProductRow
from tests.support.auth import ORDERS, as_admin, as_user, calling_as
from tests.support.captured import Captured

ADMIN = as_admin(1)

USER = as_user(2)

#: The transitions a reservation refuses, as (steps taken before, the refused step, its error code); steps are
#: named as the API's paths name them (``POST /reservations/{id}/return`` is ``ProductService.return_stock``).
WRONG_STATE_TRANSITIONS = [
    (["commit"], "release", "reservation_committed"),
    (["release"], "commit", "reservation_released"),
    (["release"], "return", "reservation_released"),
    ([], "return", "reservation_not_committed"),
    (["commit", "return"], "commit", "reservation_returned"),
    (["commit", "return"], "release", "reservation_returned"),
]


class ProductsHarness(Captured):
    """A products app plus direct access to its store, metrics, spans and log lines; its ``client`` calls as the
    orders service (the reservations' caller) unless a request names another caller."""

    def __init__(self, database_url: str, **config) -> None:
        super().__init__()
        self.app = create_app(
            {
                "database_url": database_url,
                "seed_catalog": False,
                "reservation_sweep_interval_seconds": 0,
                **self.telemetry_config,
                **config,
            }
        )
        self.client = calling_as(self.app, ORDERS).test_client()
        self.products = self.app.extensions["tienda"]

    def add_product(self, sku: str = "SKU-1", *, stock: int = 10, price_cents: int = 1000, name: str = "") -> Product:
        with self.products.service.repository.atomic() as tx:
            return tx.add_product(NewProduct(sku=sku, name=name or sku, price_cents=price_cents, stock=stock))

    def stock(self, product_id: int) -> int:
        """Stock straight from the database, deleted products included."""
        with self.products.service.repository.atomic() as tx:
            return tx.session.get(ProductRow, product_id).stock

    def outcome(self, outcome: str) -> float | None:
        return self.registry.get_sample_value("tienda_stock_reservations_total", {"outcome": outcome})

    def events(self, event: str) -> list[dict]:
        return [line for line in self.logs() if line.get("event") == event]

    def empty_database(self) -> None:
        """Delete every row; product ids start again at 1."""
        with self.products.database.engine.begin() as connection:
            for table in ("reservation_items", "reservations", "products"):
                connection.execute(text(f"DELETE FROM {table}"))
            if connection.dialect.name == "postgresql":
                connection.execute(text("ALTER SEQUENCE products_id_seq RESTART WITH 1"))

    def close(self) -> None:
        for loop in self.products.loops:
            loop.stop()
        self.products.database.dispose()
        super().close()

    @contextmanager
    def served(self) -> Iterator[str]:
        """The app behind a real threaded HTTP server on 127.0.0.1; yields its base URL."""
        server = make_server("127.0.0.1", 0, self.app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="products-test-server", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
