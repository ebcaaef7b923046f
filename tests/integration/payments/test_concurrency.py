"""Duplicate requests racing each other against a real threaded HTTP server never charge or refund twice."""

import threading
from concurrent.futures import ThreadPoolExecutor, as_completed

import pytest
import requests
from werkzeug.serving import make_server

from services.payments.domain import Approval
from services.payments.provider import SimulatedProvider
from tests.support.auth import ORDERS
from tests.support.payments import charge_body, rows, sample

REQUESTS = 20
WAIT_SECONDS = 20


class HeldProvider(SimulatedProvider):
    """Approves, but holds each authorization until the test releases it; counts the authorizations."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def authorize(self, key, card, amount):
        with self._lock:
            self.calls += 1
        self.entered.set()
        self.release.wait(WAIT_SECONDS)
        return Approval()


@pytest.fixture
def serve():
    """``serve(app)`` runs ``app`` on a threaded server on 127.0.0.1 and returns its base URL."""
    servers = []

    def start(app):
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="payments-test-server", daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(WAIT_SECONDS)
        server.server_close()


def test_twenty_concurrent_identical_charges_authorize_once_and_store_one_payment(make_app, serve):
    provider = HeldProvider()
    app = make_app(payment_provider=provider)
    url = serve(app) + "/payments"
    body = charge_body(order_id=500, amount_cents=4999)

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        try:
            futures = [
                pool.submit(requests.post, url, json=body, headers=ORDERS, timeout=WAIT_SECONDS)
                for _ in range(REQUESTS)
            ]
            assert provider.entered.wait(WAIT_SECONDS), "no request reached the provider"
            # While the first request is held at the provider, every duplicate is answered without it.
            early = []
            for future in as_completed(futures, timeout=WAIT_SECONDS):
                early.append(future.result())
                if len(early) == REQUESTS - 1:
                    break
        finally:
            provider.release.set()
        responses = [future.result() for future in futures]

    assert [(r.status_code, r.json()["error"]["code"]) for r in early] == [(409, "payment_in_progress")] * 19
    [winner] = [r for r in responses if r.status_code == 201]
    assert winner.json()["status"] == "completed"
    assert provider.calls == 1
    [row] = rows(app)
    assert (row["id"], row["order_id"], row["status"]) == (winner.json()["id"], 500, "completed")
    assert sample(app, "tienda_payments_total", {"outcome": "approved"}) == 1.0

    after = requests.post(url, json=body, headers=ORDERS, timeout=WAIT_SECONDS)
    assert (after.status_code, after.json()) == (200, winner.json())
    assert provider.calls == 1


def test_twenty_concurrent_refunds_of_one_payment_refund_it_once(make_app, serve):
    app = make_app()
    base = serve(app)
    payment = requests.post(
        base + "/payments", json=charge_body(order_id=600), headers=ORDERS, timeout=WAIT_SECONDS
    ).json()
    refund_url = f"{base}/payments/{payment['id']}/refund"

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        responses = list(
            pool.map(lambda _: requests.post(refund_url, headers=ORDERS, timeout=WAIT_SECONDS), range(REQUESTS))
        )

    assert [r.status_code for r in responses] == [200] * REQUESTS
    assert {r.json()["status"] for r in responses} == {"refunded"}
    assert [r["status"] for r in rows(app)] == ["refunded"]
    assert sample(app, "tienda_refunds_total") == 1.0
