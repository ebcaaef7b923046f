"""Concurrent registrations of one email against a real threaded HTTP server: the database decides."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from werkzeug.serving import make_server

from tests.support.auth import GATEWAY
from tests.support.users import sample, user_rows

CONCURRENT = 8


def test_concurrent_registrations_of_one_email_give_exactly_one_201_and_the_rest_409(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/users"
    start = threading.Barrier(CONCURRENT)

    def attempt(i: int) -> requests.Response:
        body = {"email": "Same@Example.com".swapcase() if i % 2 else "same@example.com",
                "password": f"password number {i}", "name": f"Racer {i}"}  # fmt: skip
        with requests.Session() as session:
            start.wait(timeout=10)
            return session.post(url, json=body, headers=GATEWAY, timeout=30)

    try:
        with ThreadPoolExecutor(CONCURRENT) as pool:
            responses = list(pool.map(attempt, range(CONCURRENT)))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (CONCURRENT - 1)
    assert all(r.json()["error"]["code"] == "email_taken" for r in responses if r.status_code == 409)
    (row,) = user_rows(app)
    (winner,) = [r.json() for r in responses if r.status_code == 201]
    assert (row["id"], row["email"]) == (winner["id"], "same@example.com")
    assert sample(app, "tienda_users_registered_total") == 1
