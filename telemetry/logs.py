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

The access line, one per request, is the exception: when logging would hand it to this module's handler
and formatter and nothing else (:func:`direct_handler`), :mod:`telemetry.server` has the handler write it
straight away (:meth:`JsonFormatter.access_line`), the same bytes without a ``LogRecord`` and the logging
call chain. Measured with ``bench/profile_request.py --instructions``, that saved 123 k of the 803 k
instructions of a request at 10 % sampling (docs/overhead-analysis.md); any other set-up (a test's
capture handler, a filter, a second handler) takes the ordinary logging path.
"""

from __future__ import annotations

import functools
import logging
import os
import select
import sys
import threading
import time
from json.encoder import encode_basestring
from typing import Any, TextIO

from opentelemetry import trace
from opentelemetry.trace import SpanContext
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonEncoder
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from . import requestid
from .redaction import REDACTED, is_sensitive, may_hold_secrets, redact, redact_text

__all__ = ["REDACTED", "JsonFormatter", "RateLimitFilter", "configure_logging", "is_sensitive", "redact", "redact_text"]

_SKIP = frozenset(RESERVED_ATTRS) | {"message", "asctime", "color_message"}
#: The logger of the access line telemetry.server writes for every request.
ACCESS_LOGGER = "telemetry.access"


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
        self._service_json = self._encode(service)
        self._suspect_routes: dict[str, bool] = {}  # may_hold_secrets of each route template seen

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

    def access_line(
        self,
        levelname: str,
        raw_method: str,
        route: str,
        path: str,
        status: int,
        duration_ms: float,
        size: int | None,
        span_context: SpanContext,
    ) -> str:
        """What :meth:`format` makes of telemetry.server's access record, written directly.

        Byte for byte the same line (tests/unit/test_logs.py compares them): the same fields in the same
        order, strings escaped by the same function the JSON encoder uses, the same redaction. One
        pre-check clears the message, method and path together, since an access line rarely holds anything
        to mask, and the route's is remembered: routes are the app's few templates, and no pattern of the
        pre-check crosses the line break that would join the route to the message (1.8 -> 0.9 us per line).
        """
        created = time.time()
        message = f"{raw_method} {path} {status}"
        suspect_route = self._suspect_routes.get(route)
        if suspect_route is None:
            if len(self._suspect_routes) >= 1024:  # bounded whatever a caller passes as the route
                self._suspect_routes.clear()
            suspect_route = self._suspect_routes[route] = may_hold_secrets(route)
        if suspect_route or may_hold_secrets(message):
            message, raw_method, route, path = (redact_text(t) for t in (message, raw_method, route, path))
        request_id = requestid.current()
        if span_context.is_valid:
            ids = f'"{span_context.trace_id:032x}", "span_id": "{span_context.span_id:016x}"'
        else:
            ids = 'null, "span_id": null'
        return (
            f'{{"timestamp": "{_utc_second(int(created))}.{int((created - int(created)) * 1000):03d}Z", '
            f'"level": "{levelname}", "logger": "{ACCESS_LOGGER}", "message": {encode_basestring(message)}, '
            f'"service": {self._service_json}, '
            f'"request_id": {"null" if request_id is None else encode_basestring(request_id)}, '
            f'"trace_id": {ids}, "event": "http.access", "method": {encode_basestring(raw_method)}, '
            f'"route": {encode_basestring(route)}, "path": {encode_basestring(path)}, "status": {status!r}, '
            f'"duration_ms": {duration_ms!r}, "bytes": {"null" if size is None else repr(size)}}}'
        )


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


#: The longest line (bytes, terminator included) written with one ``write(2)`` and no lock: ``PIPE_BUF``, the size
#: up to which POSIX keeps a write to a pipe whole (4096 on Linux).
ATOMIC_LINE_BYTES: int = getattr(select, "PIPE_BUF", 512)


def _descriptor(stream: TextIO) -> int | None:
    """The file descriptor behind ``stream``, or None when it has none (StringIO, pytest's capsys)."""
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


class _TelemetryHandler(logging.StreamHandler[TextIO]):
    """The root handler configure_logging() installs (and finds again to replace).

    Without an explicit stream it writes to whatever ``sys.stdout`` is at the moment of writing, so
    redirections made after set-up (test capture, a supervisor swapping stdout) are honoured.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream or sys.stdout)
        self._follow_stdout = stream is None
        self.own_filters: list[Any] = []  # what configure_logging() attached

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
            self.write_line(self.format(record))
        except Exception:
            self.handleError(record)
        return True

    def write_line(self, line: str) -> None:
        """Write ``line`` and the terminator as one whole line of the output.

        On a stream with a file descriptor (stdout under gunicorn, a file, a pipe), a line of up to
        :data:`ATOMIC_LINE_BYTES` is one ``write(2)`` of its own, without the handler's lock: the kernel keeps
        such a write whole on a pipe (POSIX, ``PIPE_BUF``), a terminal and a regular file, so the lines of
        different threads never interleave. Under the lock, as logging writes, a thread that queued for it
        while another was inside its ``write(2)`` then had to win the lock and the GIL in turn: under
        gunicorn's 8 threads the access line's write was the most contended place of a request
        (docs/overhead-analysis.md has the measurement). A longer line, and the rest of a write the kernel
        cut short, are written under the lock in as many ``write(2)`` as it takes (on a pipe a reader leaves
        full, another thread's short line could then land between two of them). A stream without a
        descriptor (a test's capture) is written under the lock.
        """
        stream = self.stream
        text = line + self.terminator
        lock = self.lock
        assert lock is not None  # made by logging.Handler.__init__
        fd = _descriptor(stream)
        if fd is None:
            with lock:
                stream.write(text)
                stream.flush()
            return
        data = text.encode(stream.encoding, stream.errors or "strict")
        stream.flush()  # what was written through the stream before stays before
        if len(data) <= ATOMIC_LINE_BYTES:
            written = os.write(fd, data)
            if written == len(data):
                return
            data = data[written:]
        with lock:
            while data:
                data = data[os.write(fd, data) :]

    def write_access(self, level: int, *fields: Any) -> None:
        """Write an access line (the arguments of :meth:`JsonFormatter.access_line` after the level name)."""
        formatter = self.formatter
        assert isinstance(formatter, JsonFormatter)  # direct_handler() hands out no other
        try:
            self.write_line(formatter.access_line(logging.getLevelName(level), *fields))
        except Exception:
            self.handleError(logging.makeLogRecord({"name": ACCESS_LOGGER, "levelno": level, "msg": "access line"}))


def direct_handler(logger: logging.Logger, level: int) -> _TelemetryHandler | None:
    """The handler a record of ``logger`` at ``level`` reaches, if it is the only one and exactly as set up.

    That is: ``logger`` is enabled for ``level`` and has no filter, it and its ancestors up to the root
    have no handler and propagate, and the root has one, the handler :func:`configure_logging` installed,
    with its own formatter and filter and a level that lets ``level`` through. Then writing the line
    with that handler directly is what logging would do; otherwise None.
    """
    if not logger.isEnabledFor(level) or logger.filters:
        return None
    node = logger
    while not node.handlers:
        parent = node.parent
        if not node.propagate or parent is None:
            return None
        node = parent
    if node is not logging.root or len(node.handlers) != 1:
        return None
    handler = node.handlers[0]
    if (
        type(handler) is not _TelemetryHandler
        or handler.level > level
        or handler.filters != handler.own_filters
        or type(handler.formatter) is not JsonFormatter
    ):
        return None
    return handler


def configure_logging(service: str, level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Send every log record of the process to ``stream`` (stdout) as JSON; safe to call again."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _TelemetryHandler)]:
        root.removeHandler(handler)
    handler = _TelemetryHandler(stream)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(RateLimitFilter())
    handler.own_filters = list(handler.filters)
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
