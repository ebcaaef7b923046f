"""A minimal instrumented service, the smallest example of what every tienda service looks like."""

from __future__ import annotations

import logging

from flask import Flask, jsonify

import telemetry

log = logging.getLogger(__name__)

GREETINGS = {"en": "Hello", "es": "Hola", "fr": "Bonjour"}


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(config or {})
    telemetry.instrument(app, service_name="demo")

    @app.get("/greetings/<lang>")
    def greet(lang: str):
        if lang not in GREETINGS:
            return telemetry.errors.error_response(404, "unknown_language", f"no greeting for {lang!r}")
        log.info("greeted", extra={"event": "demo.greeted", "lang": lang})
        return jsonify(lang=lang, greeting=GREETINGS[lang])

    return app
