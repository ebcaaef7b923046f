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

Secrets never reach the output: the message, every ``extra=`` field at any depth of nested dicts and lists,
and the traceback go through :mod:`telemetry.redaction`. The value of any field whose name looks like a
credential (password, card_number, cvc, authorization, token, secret, ``*_hash``, ...) becomes ``[REDACTED]``,
the same names are masked in ``key=value`` or ``"key": "value"`` text (quoted values to their closing quote),
JWTs are masked wherever they stand, and anything shaped like a payment card number keeps only its last four
digits.

Formatting is done with python-json-logger; this module adds the field order, the correlation fields,
the redaction, and a filter that keeps the OpenTelemetry SDK from flooding the log when a collector is
down (one line per distinct message per minute).
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
import time
from typing import Any, TextIO

from opentelemetry import trace
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonEncoder
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from . import requestid
from .redaction import REDACTED, is_sensitive, redact, redact_text

__all__ = ["REDACTED", "JsonFormatter", "RateLimitFilter", "configure_logging", "is_sensitive", "redact", "redact_text"]

_SKIP = frozenset(RESERVED_ATTRS) | {"message", "asctime", "color_message"}


@functools.lru_cache(maxsize=4)
def _utc_second(epoch_seconds: int) -> str:
    # Lines come many per second; format each second once.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_seconds))


class JsonFormatter(_JsonFormatter):
    """python-json-logger's JSON formatter with tienda's fields, correlation and redaction.

    ``format`` is specialised: it builds the output dict in one pass over the record and encodes it with
    the library's encoder (which knows datetimes, exceptions, dataclasses, ...). The generic path of
    the base class (field parsing, renames, defaults, merge) cost as much as the rest of the request
    telemetry together in bench/profile_request.py, and a line is written for every request.
    """

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self._encode = JsonEncoder(ensure_ascii=False).encode

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "timestamp": f"{_utc_second(int(record.created))}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": redact_text(record.getMessage()),
            "service": self.service,
            "request_id": requestid.current(),
        }
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            data["trace_id"] = format(ctx.trace_id, "032x")
            data["span_id"] = format(ctx.span_id, "016x")
        else:
            data["trace_id"] = data["span_id"] = None
        for key, value in record.__dict__.items():
            if key not in _SKIP and key not in data:  # extras never overwrite the fields above
                data[key] = REDACTED if is_sensitive(key) else redact(value)
        if record.exc_info:
            if not record.exc_text:
                text = self.formatException(record.exc_info)  # a list only with exc_info_as_array, unused here
                record.exc_text = text if isinstance(text, str) else "\n".join(text)
            if record.exc_info[0] is not None:
                data.setdefault("error_type", record.exc_info[0].__name__)
        if record.exc_text:
            data["traceback"] = redact_text(record.exc_text)
        if record.stack_info:
            data["stack_info"] = redact(self.formatStack(record.stack_info))
        return self._encode(data)


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


class _TelemetryHandler(logging.StreamHandler[TextIO]):
    """The root handler configure_logging() installs (and finds again to replace).

    Without an explicit stream it writes to whatever ``sys.stdout`` is at the moment of writing, so
    redirections made after set-up (test capture, a supervisor swapping stdout) are honoured.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream or sys.stdout)
        self._follow_stdout = stream is None

    @property
    def stream(self) -> TextIO:
        return sys.stdout if self._follow_stdout else self._stream

    @stream.setter
    def stream(self, value: TextIO) -> None:
        self._stream = value

    def handle(self, record: logging.LogRecord) -> bool:
        # Format outside the handler's lock: with gunicorn's threads queueing on that lock, formatting
        # inside it (what logging.Handler does) made every thread wait for every other's JSON encoding.
        if not self.filter(record):
            return False
        try:
            line = self.format(record) + self.terminator
            lock = self.lock
            assert lock is not None  # made by logging.Handler.__init__
            with lock:
                stream = self.stream
                stream.write(line)
                stream.flush()
        except Exception:
            self.handleError(record)
        return True


def configure_logging(service: str, level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Send every log record of the process to ``stream`` (stdout) as JSON; safe to call again."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _TelemetryHandler)]:
        root.removeHandler(handler)
    handler = _TelemetryHandler(stream)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(RateLimitFilter())
    root.addHandler(handler)
    root.setLevel(level)
    # The logging docs' "Optimization" switches: none of these record fields is written, so skip
    # computing them for every record (the caller lookup walks the stack).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # The development server's own access lines would duplicate ours.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return handler
