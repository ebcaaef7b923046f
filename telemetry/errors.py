"""One error body everywhere: ``{"error": {"code", "message", "request_id"}}``.

:func:`install` makes every error a Flask app can produce answer in that shape: HTTP errors raised by
Flask or werkzeug (404 unknown route, 405 wrong method, 413 body too large, 400 bad JSON, ...) keep their
status and get a snake_case ``code`` (``not_found``, ``method_not_allowed``); any other exception is
logged once with its traceback, recorded on the server span, and answered as 500 ``internal_error``
with no stack trace or exception text in the body.

Services use :func:`error_response` for their own domain errors so the shape never drifts.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, jsonify
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from werkzeug.exceptions import HTTPException

from . import requestid

logger = logging.getLogger("telemetry.errors")

_NON_WORD = re.compile(r"[^a-z0-9]+")


def error_code(exc: HTTPException) -> str:
    """``Method Not Allowed`` -> ``method_not_allowed``."""
    return _NON_WORD.sub("_", (exc.name or "error").lower()).strip("_")


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, details: object = None
) -> Response:
    """The JSON error response with the current request ID; ``details`` (optional) says which fields failed."""
    body: dict[str, object] = {"code": code, "message": message, "request_id": requestid.current()}
    if details is not None:
        body["details"] = details
    response = jsonify(error=body)
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


def install(app: Flask) -> None:
    def http_error(exc: HTTPException) -> Response:
        headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}  # keep Allow on 405
        return error_response(exc.code or 500, error_code(exc), exc.description or exc.name, headers)

    def unhandled(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            return http_error(exc)
        logger.error("unhandled exception", exc_info=exc, extra={"event": "http.unhandled_exception"})
        span = trace.get_current_span()
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        span.set_attribute("error.type", type(exc).__qualname__)
        return error_response(500, "internal_error", "The server failed to handle the request.")

    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unhandled)
