"""A small instrumented app used by the telemetry tests, locally and under real gunicorn.

Environment: ``SAMPLE_NAME`` (service name, default ``sample``), ``SAMPLE_DOWNSTREAM_URL`` (another
sample app that ``GET /chain`` and ``GET /budget`` call through the telemetry HTTP client).
"""

from __future__ import annotations

import logging
import os

from flask import Flask, jsonify, request

import telemetry

log = logging.getLogger("sample")


def create_app(**instrument_kwargs) -> Flask:
    app = Flask(__name__)
    name = os.environ.get("SAMPLE_NAME", "sample")
    tel = telemetry.instrument(app, service_name=name, **instrument_kwargs)
    downstream_url = os.environ.get("SAMPLE_DOWNSTREAM_URL")
    downstream = telemetry.http.Client(downstream_url, telemetry=tel, name="downstream") if downstream_url else None

    @app.get("/items/<int:item_id>")
    def item(item_id: int):
        log.info("item looked up", extra={"event": "item.viewed", "item_id": item_id})
        return jsonify(id=item_id, name=f"item {item_id}")

    @app.post("/login")
    def login():
        request.get_data()  # reading the body is what enforces MAX_CONTENT_LENGTH
        log.info("login attempt", extra={"event": "login", "password": "hunter22", "body": {"token": "abc"}})
        return jsonify(ok=True)

    @app.get("/boom")
    def boom():
        raise RuntimeError("something broke inside")

    @app.get("/teapot")
    def teapot():
        return telemetry.errors.error_response(418, "teapot", "short and stout")

    @app.get("/chain")
    def chain():
        if downstream is None:
            return telemetry.errors.error_response(503, "no_downstream", "SAMPLE_DOWNSTREAM_URL is not set")
        response = downstream.get("/items/7", route="/items/{item_id}")
        return jsonify(downstream_status=response.status_code, downstream=response.json())

    @app.get("/budget")
    def budget():
        """This hop's remaining deadline budget, then the next hop's answer to the same question."""
        remaining = telemetry.deadline.remaining_seconds()
        body = {"service": name, "remaining_ms": None if remaining is None else round(remaining * 1000, 3)}
        if downstream is not None:
            try:
                body["downstream"] = downstream.get("/budget", route="/budget").json()
            except telemetry.deadline.DeadlineExceeded as exc:
                return telemetry.errors.error_response(504, "deadline_exceeded", str(exc), details={"sent": exc.sent})
        return jsonify(body)

    return app
