"""Fault injection: make one route or one upstream slow, failing, hanging or deaf, on purpose.

Faults are how tienda proves it loses nothing when a deployment misbehaves: tests, the chaos soak and
the playbook set them, watch the signals move, and check that every order still heals.

A fault is one rule::

    {"target": "POST /payments", "fault": "latency", "delay_seconds": 7, "jitter_seconds": 0.5}

``target``
    ``METHOD /route`` for requests the app receives (the Flask route template, as in the ``http_route``
    label; ``<int:id>`` and ``{id}`` are the same), or ``upstream:NAME`` for every call the app makes
    through the :class:`telemetry.http.Client` named ``NAME``, or ``upstream:NAME METHOD /route`` for the
    calls made with that ``route=`` template only.
``fault``
    ``latency``: the work is done, the answer comes ``delay_seconds`` plus up to ``jitter_seconds`` late.
    For a route the handler starts late; for an upstream the call is sent at once and its answer held
    back, and a caller whose read timeout is shorter gets ``requests.ReadTimeout`` at that timeout (the
    upstream did the work).
    ``error``: no work is done; the answer is ``status`` (default 503) with the JSON error body, code
    ``fault_injected``. For an upstream nothing is sent and the caller gets that response.
    ``hang``: no work is done and no answer comes; the request is held ``hang_seconds`` (default 30, at
    most 300, so a hang never holds a thread for ever), then the connection is closed without an answer.
    For an upstream nothing is sent and the caller gets ``requests.ReadTimeout`` after its read timeout
    (or ``hang_seconds`` when that is sooner).
    ``drop``: the work is done and committed, the answer never arrives. For a route the handler runs,
    then the connection is closed without a response (the server's socket, ``gunicorn.socket`` or
    ``werkzeug.socket``, is shut down when the server starts writing, after every teardown); for an
    upstream the call is sent and the caller gets ``requests.ConnectionError`` as if the answer were lost.
``ratio``
    the share of matching requests the fault applies to (default 1). Latency rules add up; the first
    ``error``, ``hang`` or ``drop`` rule that applies decides the outcome.

Rules are set by ``FAULTS`` at start (a JSON list of rules, read in :mod:`telemetry.config`) and replaced
at run time with :meth:`Faults.set` / :meth:`Faults.clear` / :meth:`Faults.list` on the handle's
``faults``, or over HTTP on every instrumented app that allows faults::

    GET    /admin/faults    200 {"service": ..., "faults": [rules]}
    PUT    /admin/faults    body {"faults": [rules]} (or the bare list): replaces every rule; 200 as GET,
                            422 invalid_faults naming the bad field
    DELETE /admin/faults    removes every rule; 200 as GET

Faults are allowed unless ``TIENDA_ENV=production``, where they need ``FAULTS_ENABLED=true``; where they
are not allowed the endpoint is never registered and :meth:`Faults.set` raises :class:`FaultsRefused`.
Health, readiness, metrics and the endpoint itself are never faulted.

Every injected fault writes one log line (``event=fault.injected``, ``fault``, ``target``), adds a
``fault.injected`` event to the current span, and counts in ``tienda_faults_injected_total{fault,target}``;
``target`` is a configured rule's canonical target, so the labels stay bounded.

Cost: with no rule, a request pays one dictionary truth test in :mod:`telemetry.server` and one in
:mod:`telemetry.http`. With rules, a dictionary lookup.

Why not OpenFeature with a flagd flags file: evaluated with openfeature-sdk 0.10 and
openfeature-provider-flagd 0.6 in file mode, one flag evaluation cost about 70 us (63 us for a flag that
does not exist), several times the whole per-request telemetry, and it would run for every request and
every upstream call while any fault is set; a change at run time has to go through the file, picked up
by polling a third of a second later, so an API that sets a fault and then sends a request would race;
and it brings grpcio, protobuf, mmh3, cbor2, semver and a JSON-logic engine along. A fault here is a few
numbers per target, which this module validates and looks up in a dictionary.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from http.client import RemoteDisconnected
from typing import Any, Literal, get_args

import requests
from flask import Flask, Response, after_this_request, jsonify, request
from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter
from urllib3.exceptions import ProtocolError

from .errors import error_response

__all__ = [
    "ADMIN_PATH",
    "KINDS",
    "MAX_ERROR_STATUS",
    "MAX_RULES",
    "MAX_SECONDS",
    "MIN_ERROR_STATUS",
    "Kind",
    "FaultRule",
    "Faults",
    "FaultSpecError",
    "FaultsRefused",
    "install",
    "parse_env",
    "parse_rules",
]

logger = logging.getLogger("telemetry.faults")

ADMIN_PATH = "/admin/faults"
#: What a rule does to a request it matches.
Kind = Literal["latency", "error", "hang", "drop"]
KINDS: tuple[Kind, ...] = get_args(Kind)
UPSTREAM_PREFIX = "upstream:"
MAX_RULES = 64
MAX_SECONDS = 300.0
#: The statuses an ``error`` rule may answer.
MIN_ERROR_STATUS, MAX_ERROR_STATUS = 400, 599
DEFAULT_STATUS = 503
DEFAULT_HANG_SECONDS = 30.0

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
_UPSTREAM_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ROUTE = re.compile(r"/[^\s]{0,255}")
_FLASK_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")
#: The parameters each kind takes besides ``target``, ``fault`` and ``ratio``.
_PARAMETERS = {
    "latency": ("delay_seconds", "jitter_seconds"),
    "error": ("status",),
    "hang": ("hang_seconds",),
    "drop": (),
}

IncomingKey = tuple[str, str]
OutgoingKey = tuple[str, str | None, str | None]


class FaultSpecError(ValueError):
    """A fault rule is malformed; the message names the rule and the field."""


class FaultsRefused(RuntimeError):
    """Faults were set where they are not allowed (``TIENDA_ENV=production`` without ``FAULTS_ENABLED``)."""


@functools.lru_cache(maxsize=512)
def route_template(route: str) -> str:
    """``/products/<int:id>`` -> ``/products/{id}``: Flask's and the HTTP client's templates compared as one."""
    return _FLASK_VARIABLE.sub(r"{\1}", route)


@dataclass(frozen=True)
class FaultRule:
    """One validated rule; build it with :func:`parse_rules` (or directly, then pass it to :meth:`Faults.set`)."""

    target: str
    fault: str
    ratio: float = 1.0
    delay_seconds: float = 0.0
    jitter_seconds: float = 0.0
    status: int = DEFAULT_STATUS
    hang_seconds: float = DEFAULT_HANG_SECONDS

    def to_dict(self) -> dict[str, Any]:
        """The rule as the API shows it: only the fields its kind uses."""
        shown: dict[str, Any] = {"target": self.target, "fault": self.fault, "ratio": self.ratio}
        for name in _PARAMETERS[self.fault]:
            shown[name] = getattr(self, name)
        return shown

    def delay(self) -> float:
        """This occurrence's added latency: ``delay_seconds`` plus a uniform share of ``jitter_seconds``."""
        return self.delay_seconds + (random.random() * self.jitter_seconds if self.jitter_seconds else 0.0)

    def applies(self) -> bool:
        """Whether this occurrence is faulted (``ratio`` of them are)."""
        return self.ratio >= 1.0 or random.random() < self.ratio


def _target(raw: object, where: str) -> tuple[str, IncomingKey | None, OutgoingKey | None]:
    """The canonical target of a target string, and its lookup key: incoming or outgoing."""
    if not isinstance(raw, str) or not raw.strip():
        raise FaultSpecError(
            f"{where}.target must be 'METHOD /route', 'upstream:NAME' or 'upstream:NAME METHOD /route'"
        )
    parts = raw.split()
    upstream = None
    if parts[0].startswith(UPSTREAM_PREFIX):
        upstream = parts.pop(0)[len(UPSTREAM_PREFIX) :]
        if not _UPSTREAM_NAME.fullmatch(upstream):
            raise FaultSpecError(f"{where}.target {raw!r}: the upstream name must be 1-64 of [A-Za-z0-9._-]")
        if not parts:
            return f"{UPSTREAM_PREFIX}{upstream}", None, (upstream, None, None)
    if len(parts) != 2:
        raise FaultSpecError(f"{where}.target {raw!r} is not 'METHOD /route' (with an optional 'upstream:NAME' first)")
    method, route = parts[0].upper(), parts[1]
    if method not in _METHODS:
        raise FaultSpecError(f"{where}.target {raw!r}: {parts[0]!r} is not an HTTP method")
    if not _ROUTE.fullmatch(route):
        raise FaultSpecError(f"{where}.target {raw!r}: the route must start with / (at most 256 characters)")
    route = route_template(route)
    if upstream is not None:
        return f"{UPSTREAM_PREFIX}{upstream} {method} {route}", None, (upstream, method, route)
    if route == ADMIN_PATH:
        raise FaultSpecError(f"{where}.target {raw!r}: the faults endpoint itself cannot be faulted")
    return f"{method} {route}", (method, route), None


def _number(rule: Mapping[str, object], name: str, where: str, low: float, high: float, default: float) -> float:
    value = rule.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise FaultSpecError(f"{where}.{name}={value!r} is not a number from {low:g} to {high:g}")
    return float(value)


def _rule(raw: object, where: str) -> FaultRule:
    if not isinstance(raw, Mapping):
        raise FaultSpecError(f"{where} is not an object with target and fault")
    kind = raw.get("fault")
    if kind not in KINDS:
        raise FaultSpecError(f"{where}.fault={kind!r} is not one of {', '.join(KINDS)}")
    allowed = {"target", "fault", "ratio", *_PARAMETERS[kind]}
    unknown = sorted(str(key) for key in raw if key not in allowed)
    if unknown:
        raise FaultSpecError(
            f"{where}: {', '.join(unknown)} not allowed in a {kind} fault (allowed: {sorted(allowed)})"
        )
    target = _target(raw.get("target"), where)[0]
    ratio = _number(raw, "ratio", where, 0.0, 1.0, 1.0)
    if ratio == 0:
        raise FaultSpecError(f"{where}.ratio must be above 0 (remove the rule to turn it off)")
    status = raw.get("status", DEFAULT_STATUS)
    if isinstance(status, bool) or not isinstance(status, int) or not MIN_ERROR_STATUS <= status <= MAX_ERROR_STATUS:
        raise FaultSpecError(
            f"{where}.status={status!r} is not an HTTP error status ({MIN_ERROR_STATUS}-{MAX_ERROR_STATUS})"
        )
    rule = FaultRule(
        target=target,
        fault=kind,
        ratio=ratio,
        delay_seconds=_number(raw, "delay_seconds", where, 0.0, MAX_SECONDS, 0.0),
        jitter_seconds=_number(raw, "jitter_seconds", where, 0.0, MAX_SECONDS, 0.0),
        status=status,
        hang_seconds=_number(raw, "hang_seconds", where, 0.001, MAX_SECONDS, DEFAULT_HANG_SECONDS),
    )
    if kind == "latency" and rule.delay_seconds == 0 and rule.jitter_seconds == 0:
        raise FaultSpecError(f"{where}: a latency fault needs delay_seconds or jitter_seconds above 0")
    return rule


def parse_rules(value: object) -> tuple[FaultRule, ...]:
    """Validate a list of rule objects (or ``{"faults": [...]}``); :class:`FaultSpecError` names the bad field."""
    if isinstance(value, Mapping) and set(value) == {"faults"}:
        value = value["faults"]
    if not isinstance(value, list):
        raise FaultSpecError('faults must be a JSON list of rules (or {"faults": [rules]})')
    if len(value) > MAX_RULES:
        raise FaultSpecError(f"at most {MAX_RULES} fault rules (got {len(value)})")
    rules = []
    seen: set[tuple[str, str]] = set()
    for index, raw in enumerate(value):
        rule = _rule(raw, f"faults[{index}]")
        if (rule.target, rule.fault) in seen:
            raise FaultSpecError(f"faults[{index}]: a second {rule.fault} fault for {rule.target}")
        seen.add((rule.target, rule.fault))
        rules.append(rule)
    return tuple(rules)


def parse_env(raw: str) -> tuple[FaultRule, ...]:
    """The rules of a ``FAULTS`` value: empty means none, else a JSON list of rules."""
    if not raw.strip():
        return ()
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FaultSpecError(f"not JSON ({exc.msg} at character {exc.pos})") from None
    return parse_rules(value)


class _Lost:
    """A response body that closes the connection instead of being written.

    The server iterates the body only after Flask has run every teardown (so the work is committed);
    shutting the socket down then makes its first write fail, and the client sees the connection closed
    without an answer. gunicorn and werkzeug both treat that as a client that went away.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def __iter__(self) -> Iterator[bytes]:
        with contextlib.suppress(OSError):  # the client already went: the answer is lost either way
            self.sock.shutdown(socket.SHUT_RDWR)
        return iter(())


def _lose(response: Response) -> Response:
    sock = request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        response.response = _Lost(sock)
    else:  # the Flask test client: there is no connection to close
        logger.warning("the server exposes no socket; the response is sent", extra={"event": "fault.not_droppable"})
    return response


def _read_timeout(timeout: object) -> float | None:
    if isinstance(timeout, tuple):
        timeout = timeout[1]
    return float(timeout) if isinstance(timeout, int | float) else None


def _error_response(rule: FaultRule) -> requests.Response:
    """The answer an ``error`` fault gives an upstream call instead of sending it."""
    response = requests.Response()
    response.status_code = rule.status
    response.reason = "Injected Fault"
    response.headers["Content-Type"] = "application/json"
    body = {"error": {"code": "fault_injected", "message": f"Injected fault: {rule.target} answers error."}}
    response._content = json.dumps(body).encode()
    response.encoding = "utf-8"
    return response


class Faults:
    """The fault rules of one app, looked up by every request and upstream call.

    :attr:`incoming` and :attr:`outgoing` are replaced whole on every change, so a request sees either
    the old rules or the new ones, without a lock on the hot path.
    """

    def __init__(
        self,
        service: str,
        *,
        allowed: bool,
        rules: Iterable[FaultRule] = (),
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.service = service
        self.allowed = allowed
        self.incoming: dict[IncomingKey, tuple[FaultRule, ...]] = {}
        self.outgoing: dict[OutgoingKey, tuple[FaultRule, ...]] = {}
        self._rules: tuple[FaultRule, ...] = ()
        self._lock = threading.Lock()
        self._injected: Counter | None = None
        if allowed:
            self._injected = Counter(
                "tienda_faults_injected_total",
                "Faults injected on purpose, by fault kind and configured target.",
                ("fault", "target"),
                registry=registry,
            )
        rules = tuple(rules)
        if rules:
            self.set(rules)

    def set(self, rules: Iterable[FaultRule | Mapping[str, Any]]) -> tuple[FaultRule, ...]:
        """Replace every rule with ``rules`` (validated rules or rule objects); returns the rules now set.

        Raises :class:`FaultSpecError` (nothing changes) or :class:`FaultsRefused`.
        """
        if not self.allowed:
            raise FaultsRefused("fault injection is off here (TIENDA_ENV=production needs FAULTS_ENABLED=true)")
        incoming: dict[IncomingKey, tuple[FaultRule, ...]] = {}
        outgoing: dict[OutgoingKey, tuple[FaultRule, ...]] = {}
        validated = parse_rules([r.to_dict() if isinstance(r, FaultRule) else r for r in rules])
        for rule in validated:
            _, in_key, out_key = _target(rule.target, rule.target)
            if in_key is not None:
                incoming[in_key] = (*incoming.get(in_key, ()), rule)
            if out_key is not None:
                outgoing[out_key] = (*outgoing.get(out_key, ()), rule)
            if self._injected is not None:
                self._injected.labels(rule.fault, rule.target)  # present at zero, so rate() works at once
        with self._lock:
            self._rules, self.incoming, self.outgoing = validated, incoming, outgoing
        logger.info(
            "fault rules set",
            extra={"event": "faults.set", "faults": [rule.to_dict() for rule in validated]},
        )
        return validated

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules, self.incoming, self.outgoing = (), {}, {}
        logger.info("fault rules cleared", extra={"event": "faults.set", "faults": []})

    # The two hooks below run only when a rule exists (the callers test the dictionaries first).

    def _draw(self, rules: tuple[FaultRule, ...]) -> tuple[float, FaultRule | None]:
        """Which of ``rules`` fire this time: their summed latency, and the first other rule that fires."""
        delay = 0.0
        outcome: FaultRule | None = None
        for rule in rules:
            if not rule.applies():
                continue
            self._record(rule)
            if rule.fault == "latency":
                delay += rule.delay()
            elif outcome is None:
                outcome = rule
        return delay, outcome

    def on_request(self, method: str, route: str) -> Response | None:
        """Apply the rules of ``method route`` to the current Flask request; a response replaces the handler's."""
        rules = self.incoming.get((method, route_template(route)))
        if rules is None:
            return None
        delay, outcome = self._draw(rules)
        if delay:
            time.sleep(delay)
        if outcome is None:
            return None
        if outcome.fault == "error":
            return error_response(outcome.status, "fault_injected", f"Injected fault: {outcome.target} answers error.")
        if outcome.fault == "hang":
            time.sleep(outcome.hang_seconds)
            return _lose(error_response(504, "fault_injected", "Injected fault: hang."))
        after_this_request(_lose)  # drop: the handler runs, its answer is never delivered
        return None

    def call(
        self,
        upstream: str | None,
        method: str,
        route: str | None,
        timeout: object,
        send: Callable[[], requests.Response],
    ) -> requests.Response:
        """Make one upstream call through ``send`` with the rules of ``upstream`` (and ``method route``)."""
        rules = self.outgoing.get((upstream or "", None, None), ())
        if route:
            rules = self.outgoing.get((upstream or "", method, route_template(route)), ()) + rules
        delay, outcome = self._draw(rules)
        read_timeout = _read_timeout(timeout)
        if outcome is not None and outcome.fault == "error":
            time.sleep(delay)
            return _error_response(outcome)
        if outcome is not None and outcome.fault == "hang":
            waited = min(outcome.hang_seconds, read_timeout if read_timeout is not None else outcome.hang_seconds)
            time.sleep(waited)
            raise requests.ReadTimeout(f"Read timed out (injected hang after {waited:g} s)")
        response = send()
        if outcome is not None:  # drop: the upstream did the work, the answer is lost on the way back
            response.close()
            lost = RemoteDisconnected("Remote end closed connection without response (injected drop)")
            raise requests.ConnectionError(ProtocolError("Connection aborted.", lost), request=response.request)
        if read_timeout is not None and delay >= read_timeout:
            response.close()
            time.sleep(read_timeout)
            raise requests.ReadTimeout(f"Read timed out (read timeout={read_timeout:g}, injected latency)")
        time.sleep(delay)
        return response

    def _record(self, rule: FaultRule) -> None:
        if self._injected is not None:
            self._injected.labels(rule.fault, rule.target).inc()
        trace.get_current_span().add_event("fault.injected", {"fault": rule.fault, "target": rule.target})
        logger.warning(
            "injected %s fault on %s",
            rule.fault,
            rule.target,
            extra={"event": "fault.injected", "fault": rule.fault, "target": rule.target},
        )

    def list(self) -> tuple[FaultRule, ...]:
        """The rules set now, in the order they were given."""
        return self._rules


def install(app: Flask, faults: Faults) -> None:
    """Register ``GET/PUT/DELETE /admin/faults`` on ``app`` when faults are allowed there; else nothing."""
    if not faults.allowed:
        return

    def current() -> Response:
        return jsonify(service=faults.service, faults=[rule.to_dict() for rule in faults.list()])

    def endpoint() -> Response:
        if request.method == "PUT":
            body = request.get_json(silent=True)
            try:
                faults.set(parse_rules(body))
            except FaultSpecError as exc:
                return error_response(422, "invalid_faults", str(exc))
        elif request.method == "DELETE":
            faults.clear()
        return current()

    app.add_url_rule(ADMIN_PATH, "telemetry_faults", endpoint, methods=["GET", "PUT", "DELETE"])
