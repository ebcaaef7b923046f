"""The app the overhead benchmark serves: a tiny JSON catalogue, bare or instrumented.

``create_app()`` builds the same routes either way; with ``BENCH_INSTRUMENT=1`` in the environment it
also calls :func:`telemetry.instrument`, so the difference between the two variants is exactly what the
telemetry package adds to a request::

    BENCH_INSTRUMENT=1 gunicorn -c gunicorn.conf.py -b 127.0.0.1:8000 'bench.app:create_app()'
"""

from __future__ import annotations

import os

from flask import Flask, abort, jsonify

_ITEMS = {
    i: {"id": i, "sku": f"SKU-{i:05d}", "name": f"Item {i}", "price_cents": 199 + 37 * i, "stock": i % 17}
    for i in range(1, 1001)
}


def create_app() -> Flask:
    """A small JSON app; instrumented with ``telemetry.instrument`` when ``BENCH_INSTRUMENT=1``."""
    app = Flask(__name__)

    @app.get("/items/<int:item_id>")
    def get_item(item_id: int):
        item = _ITEMS.get(item_id)
        if item is None:
            abort(404)
        return jsonify(item)

    if os.environ.get("BENCH_INSTRUMENT") == "1":
        import telemetry

        telemetry.instrument(app, service_name="bench")
    return app
