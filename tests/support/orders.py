"""The orders app on a real database with fake products and payments, and what its requests look like."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select
from werkzeug.serving import make_server

from services.common.web import wiring
from services.orders.app import create_app
from services.orders.store import OrderItemRow, OrderRow
from tests.support.auth import as_user
from tests.support.captured import Captured
from tests.support.fakes.orders import APPROVE, FakeInventory, FakePayments, Journal

USER = as_user(7)

OTHER_USER = as_user(8)


def order_body(*lines: tuple[int, int], card: str = APPROVE, expiry: str = "12/30", cvc: str = "123") -> dict:
    return {
        "items": [{"product_id": p, "quantity": q} for p, q in lines or ((1, 1),)],
        "payment": {"card_number": card, "expiry": expiry, "cvc": cvc},
    }


class OrdersHarness(Captured):
    """The orders app on a real database with fake products/payments, its spans, logs and rows at hand."""

    def __init__(self, database_url: str, *, inventory=None, payments=None, **config) -> None:
        super().__init__()
        self.journal = inventory.journal if hasattr(inventory, "journal") else Journal()
        self.inventory = inventory or FakeInventory(self.journal)
        self.payments = payments or FakePayments(self.journal)
        self.app = create_app(
            {
                "database_url": database_url,
                "inventory": self.inventory,
                "payments": self.payments,
                "recovery_interval_seconds": 0,
                **self.telemetry_config,
                **config,
            }
        )
        self.client = self.app.test_client()
        self.db = wiring(self.app).database
        self.service = wiring(self.app).service

    def order(self, body=None, *, headers=USER, key: str | None = None):
        headers = {**headers, **({"Idempotency-Key": key} if key is not None else {})}
        return self.client.post("/orders", json=order_body() if body is None else body, headers=headers)

    def rows(self) -> list[OrderRow]:
        with self.db.session() as session:
            return list(session.scalars(select(OrderRow).order_by(OrderRow.id)))

    def row(self, order_id: int) -> OrderRow:
        with self.db.session() as session:
            return session.get_one(OrderRow, order_id)

    def item_rows(self) -> list[OrderItemRow]:
        with self.db.session() as session:
            return list(session.scalars(select(OrderItemRow).order_by(OrderItemRow.id)))

    def count(self) -> int:
        with self.db.session() as session:
            return session.scalar(select(func.count()).select_from(OrderRow))

    def sample(self, name: str, labels: dict | None = None) -> float | None:
        return self.registry.get_sample_value(name, labels or {})

    def events(self, name: str) -> list[dict]:
        return [record for record in self.logs() if record.get("event") == name]

    def close(self) -> None:
        for loop in wiring(self.app).loops:
            loop.stop()
        self.db.dispose()
        super().close()


class HeldRequests:
    """WSGI middleware: requests to ``method`` ``path`` wait for :attr:`gate` before the app sees them (a slow
    network), and what the app answered them is kept in :attr:`statuses`."""

    def __init__(self, app, method: str, path: str) -> None:
        self.app = app
        self.route = (method, path)
        self.gate = threading.Event()
        self.arrived = threading.Event()
        self.answered = threading.Event()
        self.statuses: list[str] = []

    def __call__(self, environ, start_response):
        if (environ["REQUEST_METHOD"], environ["PATH_INFO"]) != self.route:
            return self.app(environ, start_response)
        self.arrived.set()
        self.gate.wait(10)

        def recording(status, headers, *args):
            self.statuses.append(status)
            return start_response(status, headers, *args)

        try:
            return self.app(environ, recording)
        finally:
            self.answered.set()


@contextmanager
def served_holding(app, method: str, path: str) -> Iterator[tuple[str, HeldRequests]]:
    """``app`` behind a real threaded server on 127.0.0.1 with :class:`HeldRequests` on ``method`` ``path``;
    yields its base URL and the middleware. At the end held requests are let through, the server stops and the
    app's database is disposed."""
    held = HeldRequests(app.wsgi_app, method, path)
    app.wsgi_app = held
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", held
    finally:
        held.gate.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
        wiring(app).database.dispose()
