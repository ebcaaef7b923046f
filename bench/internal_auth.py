"""What internal authentication costs per hop: the sender's token, the receiver's verification, the whole gate.

    python bench/internal_auth.py            # from the repository root, with the project's venv

Measured in process with ``timeit`` (best of ``BENCH_REPEAT`` runs of ``BENCH_NUMBER`` calls, in microseconds
per call), on the machine at hand:

``send (cached)``
    :meth:`InternalTokens.headers` for a service's own token or a user's, as every call does: a dictionary
    lookup while the token has more than half its life left.
``mint``
    a fresh HS256 token (once per 30 s per caller and user; what a cold cache costs).
``verify``
    :meth:`InternalTokens.verify` of a token seen before (a dictionary lookup and a clock read: every request but
    the first of each token), and of a new one (PyJWT's decode and the claim checks).
``gate``
    the gate's ``before_request`` for a request to a route that declares its callers: reading the header, the
    verification of a token seen before, the rule; what a hop costs the receiver.
"""

from __future__ import annotations

import os
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.common.auth import Identity, InternalTokens  # noqa: E402

KEY = "bench-internal-token-key-" + "b" * 24
NUMBER = int(os.environ.get("BENCH_NUMBER", "20000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))


def per_call_us(statement: object, number: int = NUMBER) -> float:
    runs = timeit.repeat(statement, number=number, repeat=REPEAT)  # type: ignore[call-overload]
    return min(runs) / number * 1e6


def gate_us(tokens: InternalTokens, sender: InternalTokens) -> float:
    """Microseconds of the gate's ``before_request`` for one request to a route that declares its callers, in a
    pushed request context (Flask's own dispatch, the same with or without the gate, is left out)."""
    from flask import Flask
    from prometheus_client import CollectorRegistry

    from services.common import access

    app = Flask("bench-gate")

    @app.get("/reservations/<reservation_id>")
    @access.callers(access.services("orders"))
    def reservation(reservation_id: str) -> str:
        return reservation_id

    access.install(app, tokens.verify, CollectorRegistry())
    with app.test_request_context("/reservations/r-1", headers=sender.headers()):
        app.preprocess_request()  # the first request of a token decodes it
        return per_call_us(app.preprocess_request)


def main() -> None:
    orders = InternalTokens(KEY, "orders")
    gateway = InternalTokens(KEY, "gateway")
    receiver = InternalTokens(KEY, "products")
    alice = Identity(7, "user")
    token = orders.token()
    results = {
        "send (cached), service": per_call_us(orders.headers),
        "send (cached), user": per_call_us(lambda: gateway.headers(alice)),
        "mint": per_call_us(lambda: InternalTokens(KEY, "orders").token(), NUMBER // 4),
        "verify, a token seen before": per_call_us(lambda: receiver.verify(token)),
        "verify, a new token (PyJWT decode)": per_call_us(lambda: receiver._decode(token), NUMBER // 4),
        "gate, per request": gate_us(receiver, orders),
    }
    width = max(map(len, results))
    print(f"python {sys.version.split()[0]}, best of {REPEAT} runs")
    for name, value in results.items():
        print(f"{name:<{width}}  {value:8.1f} us")


if __name__ == "__main__":
    main()
