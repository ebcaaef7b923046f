"""JSON logs: one object per line on stdout, correlated with the request and the trace.

Every record is written as a single JSON object with, in this order::

    timestamp   ISO 8601 in UTC with milliseconds, e.g. "2026-11-28T05:00:00.123Z"
    level       DEBUG, INFO, WARNING, ERROR, CRITICAL
    logger      the logger's name
    message     the formatted message
    service     the service name given to instrument()
    request_id  the current X-Request-ID (null outside a request)
    trace_id    32 hex digits of the current span's trace (null when there is none)
    span_id     16 hex digits of the current span
    ...         every ``extra=`` field of the call, and ``traceback`` when an exception is logged

Secrets never reach the output: the value of any field whose name looks like a credential (password,
card_number, cvc, authorization, token, secret, ...) is replaced by ``[REDACTED]`` at any depth of nested
dicts and lists, the same keys are masked in ``key=value`` or ``"key": "value"`` text inside messages, and
anything shaped like a payment card number keeps only its last four digits.

Formatting is done with python-json-logger; this module adds the field order, the correlation fields,
the redaction, and a filter that keeps the OpenTelemetry SDK from flooding the log when a collector is
down (one line per distinct message per minute).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from typing import Any

from opentelemetry import trace
from pythonjsonlogger.core import RESERVED_ATTRS, merge_record_extra
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from . import requestid

REDACTED = "[REDACTED]"

_SENSITIVE_KEYS = frozenset(
    {
        "password", "passwd", "new_password", "old_password", "card_number", "cardnumber", "pan", "cvc", "cvv",
        "authorization", "proxy_authorization", "cookie", "set_cookie", "token", "access_token",
        "refresh_token", "id_token", "secret", "client_secret", "jwt_secret", "api_key", "apikey",
    }
)  # fmt: skip
_KEY_PATTERN = "|".join(sorted((re.escape(k) for k in _SENSITIVE_KEYS), key=len, reverse=True))
# key=value, key: value, "key": "value" in free text; the value runs to the next quote, comma, space or brace.
_IN_TEXT = re.compile(
    rf"""(?i)(["']?\b(?:{_KEY_PATTERN})\b["']?\s*[:=]\s*)(?:(bearer|basic)\s+)?(["']?)[^"'\s,;&}}]+""",
)
# 13-19 digits, optionally grouped by single spaces or dashes: the shape of a payment card number.
_CARD = re.compile(r"\b(?:\d[ -]?){9,15}(\d{4})\b")
_SKIP = frozenset(RESERVED_ATTRS) | {"message", "asctime", "color_message"}


def is_sensitive(key: str) -> bool:
    """True when a field called ``key`` must never be logged in clear."""
    k = key.lower().replace("-", "_")
    return k in _SENSITIVE_KEYS or k.endswith(("_password", "_token", "_secret", "api_key"))


def redact_text(text: str) -> str:
    """Mask credentials written as ``key=value`` text and card numbers inside ``text``."""
    text = _IN_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2) + ' ' if m.group(2) else ''}{m.group(3)}{REDACTED}", text)
    return _CARD.sub(lambda m: f"****{m.group(1)}", text)


def redact(value: Any) -> Any:
    """Return ``value`` with sensitive fields masked, recursing through dicts, lists and tuples."""
    if isinstance(value, dict):
        return {k: (REDACTED if isinstance(k, str) and is_sensitive(k) else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


class JsonFormatter(_JsonFormatter):
    """python-json-logger formatter with tienda's fields, correlation and redaction."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        log_data["timestamp"] = "{}.{:03d}Z".format(
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)), int(record.msecs)
        )
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = redact_text(record.message)
        log_data["service"] = self.service
        log_data["request_id"] = requestid.current()
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            log_data["trace_id"] = format(ctx.trace_id, "032x")
            log_data["span_id"] = format(ctx.span_id, "016x")
        else:
            log_data["trace_id"] = log_data["span_id"] = None
        extra: dict[str, Any] = {}
        merge_record_extra(record, extra, reserved=_SKIP)
        extra.update(message_dict)
        if "exc_info" in extra:
            extra["traceback"] = extra.pop("exc_info")
            if record.exc_info and record.exc_info[0] is not None:
                extra.setdefault("error_type", record.exc_info[0].__name__)
        for key, value in extra.items():
            if key not in log_data:  # extras never overwrite the correlation fields
                log_data[key] = REDACTED if is_sensitive(key) else redact(value)


class RateLimitFilter(logging.Filter):
    """Let each distinct (logger, message template) through at most once per ``interval_seconds``.

    Attached to the handler for records of the ``opentelemetry`` loggers only: an exporter that cannot
    reach its collector would otherwise write a warning for every batch, several per second.
    """

    def __init__(self, prefixes: tuple[str, ...] = ("opentelemetry",), interval_seconds: float = 60.0) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.interval_seconds = interval_seconds
        self._last: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.prefixes):
            return True
        key = (record.name, str(record.msg))
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval_seconds:
                return False
            if len(self._last) > 1000:  # bounded even if messages are not templates
                self._last.clear()
            self._last[key] = now
        return True


class _TelemetryHandler(logging.StreamHandler):
    """The root handler configure_logging() installs (and finds again to replace).

    Without an explicit stream it writes to whatever ``sys.stdout`` is at the moment of writing, so
    redirections made after set-up (test capture, a supervisor swapping stdout) are honoured.
    """

    def __init__(self, stream=None) -> None:
        super().__init__(stream or sys.stdout)
        self._follow_stdout = stream is None

    @property
    def stream(self):
        return sys.stdout if self._follow_stdout else self._stream

    @stream.setter
    def stream(self, value) -> None:
        self._stream = value


def configure_logging(service: str, level: str = "INFO", stream=None) -> logging.Handler:
    """Send every log record of the process to ``stream`` (stdout) as JSON; safe to call again."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _TelemetryHandler)]:
        root.removeHandler(handler)
    handler = _TelemetryHandler(stream)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(RateLimitFilter())
    root.addHandler(handler)
    root.setLevel(level)
    # The development server's own access lines would duplicate ours.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return handler
