"""End-to-end order throughput through the gateway of a running shop (``make up`` first).

    python bench/orders.py            # 8 clients for 20 s against http://127.0.0.1:8080

Each client is a thread with its own user and keep-alive session placing orders of one item with the
approving test card, as fast as the shop answers. Environment: ``HOST`` (default the local gateway),
``CLIENTS`` (8), ``SECONDS`` (20), ``ADMIN_EMAIL`` / ``ADMIN_PASSWORD`` (the development admin).
The last line is machine-readable: ``orders_per_s=... p50_ms=... p99_ms=... errors=...``.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid

import requests

HOST = os.environ.get("HOST", "http://127.0.0.1:8080").rstrip("/") + "/api/v1"
CLIENTS = int(os.environ.get("CLIENTS", "8"))
SECONDS = float(os.environ.get("SECONDS", "20"))
ADMIN = (os.environ.get("ADMIN_EMAIL", "admin@tienda.local"), os.environ.get("ADMIN_PASSWORD", "admin-password"))
CARD = {"card_number": "4242424242424242", "expiry": "12/30", "cvc": "123"}


def token(session: requests.Session, email: str, password: str) -> str:
    r = session.post(f"{HOST}/auth/token", json={"email": email, "password": password}, timeout=10)
    r.raise_for_status()
    return r.json()["access_token"]


def main() -> None:
    setup = requests.Session()
    admin = {"Authorization": f"Bearer {token(setup, *ADMIN)}"}
    sku = f"BENCH-{uuid.uuid4().hex[:8]}"
    product = setup.post(
        f"{HOST}/products",
        json={"sku": sku, "name": "Bench item", "description": "", "price_cents": 500, "currency": "EUR",
              "stock": 1_000_000},
        headers=admin, timeout=10,
    )  # fmt: skip
    product.raise_for_status()
    product_id = product.json()["id"]

    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS

    def client() -> None:
        session = requests.Session()
        email, password = f"bench-{uuid.uuid4().hex[:10]}@bench.test", "bench password 1"
        session.post(f"{HOST}/users", json={"email": email, "password": password, "name": "Bench"}, timeout=10)
        headers = {"Authorization": f"Bearer {token(session, email, password)}", "baggage": "synthetic_request=true"}
        body = {"items": [{"product_id": product_id, "quantity": 1}], "payment": CARD}
        while time.monotonic() < deadline:
            started = time.perf_counter()
            r = session.post(f"{HOST}/orders", json=body, headers=headers, timeout=30)
            elapsed = time.perf_counter() - started
            with lock:
                (latencies if r.status_code == 201 else errors).append(
                    elapsed if r.status_code == 201 else r.status_code
                )

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(f"{len(latencies)} orders confirmed in {wall:.1f}s by {CLIENTS} clients, {len(errors)} errors")
    print(f"orders_per_s={len(latencies) / wall:.1f} p50_ms={p50:.1f} p99_ms={p99:.1f} errors={len(errors)}")


if __name__ == "__main__":
    main()
