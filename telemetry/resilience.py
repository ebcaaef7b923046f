"""Retries, a circuit breaker and a bulkhead for one upstream: the policy :class:`telemetry.http.Client` applies.

::

    policy = Policy("payments", registry=tel.metrics.registry)
    payments = Client(url, telemetry=tel, name="payments", policy=policy)

Each call through a client with a policy goes through three guards, in this order, for every attempt:

**Bulkhead.** At most ``max_concurrent`` attempts are in flight to the upstream. One more fails at once with
:class:`BulkheadFull`: there is no queue, because a queue behind a slow upstream is how one slow dependency
takes every thread of its callers.

**Circuit breaker.** After ``failure_threshold`` consecutive failures (a transport error or a 5xx answer; a
4xx is the upstream working) the breaker opens, and calls fail at once with :class:`CircuitOpen` for
``reset_timeout_seconds``. Then one trial call goes through (half-open): its success closes the breaker, its
failure opens it again. A call cut short by the caller's own deadline says nothing about the upstream and
counts neither way.

**Retries**, for idempotent calls only: ``GET``, ``HEAD`` and ``OPTIONS``, or a request that carries an
``Idempotency-Key`` header (the upstream then answers a repeat with the first outcome). A non-idempotent call
is made exactly once, whatever happens. Retried: transport errors and ``429``, ``502``, ``503``, ``504``
answers. At most ``max_attempts`` attempts within ``max_elapsed_seconds``; the pause before attempt *n* is
exponential with jitter (``backoff_seconds`` doubled each time, up to ``max_backoff_seconds``), or the
answer's ``Retry-After`` when it gives one; no retry starts when the pause would outrun the request's
deadline budget (:mod:`telemetry.deadline`). Each attempt has its own client span; the second and later carry
``http.request.resend_count``. A rejection by the bulkhead or an open breaker is not retried. When a retry is
refused that way (or its connection is refused) after an attempt that may have taken effect, the caller gets that
attempt, not the refusal: its error if its connection broke after sending, or, for a call other than a read, its
answer (a proxy's 502 tells no more than a broken connection whether a charge was made).

:class:`Rejected` (the parent of both rejections) is a :class:`requests.ConnectionError`, so callers that
already handle an unreachable upstream handle these too; the request was certainly not sent, and
``retry_after_seconds`` says when trying again makes sense (an answer's ``Retry-After``).

Metrics, registered once per registry and labelled by ``upstream`` (the client's ``name``):

``tienda_breaker_state`` (gauge)
    0 closed, 1 half-open, 2 open.
``tienda_breaker_transitions_total`` (counter)
    also by ``to`` (``closed``, ``half_open``, ``open``).
``tienda_http_client_retries_total`` (counter)
    attempts after the first.
``tienda_http_client_timeouts_total`` (counter)
    attempts that timed out (connect or read).
``tienda_bulkhead_rejections_total`` (counter)
    attempts refused because ``max_concurrent`` were in flight.
``tienda_bulkhead_in_flight`` (gauge)
    attempts in flight now.

Why the breaker is written here rather than taken from pybreaker: pybreaker holds its lock for the whole
wrapped call, so every call to an upstream would wait for the one before it (pybreaker issue #3, and the
pull requests that tried to change it were not merged). The state machine below takes its lock only to read
or change the state. Retries use tenacity.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import monotonic, sleep, time
from typing import Any, Protocol, TypeVar

import requests
import tenacity
from prometheus_client import CollectorRegistry, Counter, Gauge
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from . import deadline

logger = logging.getLogger("telemetry.resilience")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Answers worth another attempt: the upstream asked for one, or a proxy or the upstream was briefly unable.
RETRY_STATUSES = frozenset({429, 502, 503, 504})

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
_STATE_VALUES = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


class Answer(Protocol):
    """What one attempt answers: a :class:`requests.Response`, or the same two fields of another transport's
    answer (:class:`services.gateway.clients.RpcAnswer` gives a gRPC status as the HTTP status it stands for)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


AnswerT = TypeVar("AnswerT", bound=Answer)


class Rejected(requests.ConnectionError):
    """The call was refused before anything was sent; ``retry_after_seconds`` says when to try again."""

    def __init__(self, message: str, *, upstream: str, retry_after_seconds: float) -> None:
        super().__init__(message)
        self.upstream = upstream
        self.retry_after_seconds = retry_after_seconds


class CircuitOpen(Rejected):
    """The upstream's breaker is open: it failed ``failure_threshold`` times in a row."""


class BulkheadFull(Rejected):
    """``max_concurrent`` calls to the upstream are already in flight."""


def never_arrived(exc: BaseException) -> bool:
    """Whether a transport error certainly kept the request from the upstream: refused by this side's breaker or
    bulkhead, a connect timeout, a refused connection or a failed DNS look-up. Any other failure (a read timeout,
    a connection that broke after the request was sent) may have let the request take effect."""
    if isinstance(exc, Rejected | requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, ConnectTimeoutError)  # NewConnectionError (refused, DNS) is one too


@dataclass(frozen=True)
class PolicyConfig:
    """The limits of a :class:`Policy`; the defaults suit a call between two tienda services."""

    max_attempts: int = 3
    max_elapsed_seconds: float = 2.0
    backoff_seconds: float = 0.05
    max_backoff_seconds: float = 1.0
    failure_threshold: int = 5
    reset_timeout_seconds: float = 5.0
    max_concurrent: int = 16

    def __post_init__(self) -> None:
        for name in ("max_attempts", "failure_threshold", "max_concurrent"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be an integer >= 1")
        for name in ("max_elapsed_seconds", "backoff_seconds", "max_backoff_seconds", "reset_timeout_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name}={value!r} must be a number of seconds >= 0")


class ResilienceMetrics:
    """The resilience series of one registry (shared by every policy registered in it)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def per_upstream(kind: type[Counter] | type[Gauge], name: str, documentation: str) -> Any:
            return kind(name, documentation, ("upstream",), registry=registry)

        self.breaker_state = per_upstream(
            Gauge, "tienda_breaker_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open."
        )
        self.breaker_transitions = Counter(
            "tienda_breaker_transitions_total", "Circuit breaker state changes.", ("upstream", "to"), registry=registry
        )
        self.retries = per_upstream(
            Counter, "tienda_http_client_retries_total", "Attempts after the first of an outgoing call."
        )
        self.timeouts = per_upstream(Counter, "tienda_http_client_timeouts_total", "Outgoing attempts that timed out.")
        self.bulkhead_rejections = per_upstream(
            Counter,
            "tienda_bulkhead_rejections_total",
            "Outgoing attempts refused because the upstream's concurrency limit was reached.",
        )
        self.in_flight = per_upstream(Gauge, "tienda_bulkhead_in_flight", "Outgoing attempts in flight.")

    def register(self, upstream: str) -> None:
        """Create the upstream's series at their resting values, so dashboards and alerts see them at once."""
        self.breaker_state.labels(upstream).set(0)
        for to in (CLOSED, HALF_OPEN, OPEN):
            self.breaker_transitions.labels(upstream, to)
        for counter in (self.retries, self.timeouts, self.bulkhead_rejections):
            counter.labels(upstream)
        self.in_flight.labels(upstream)


_metrics: weakref.WeakKeyDictionary[CollectorRegistry, ResilienceMetrics] = weakref.WeakKeyDictionary()
_metrics_lock = threading.Lock()


def metrics_for(registry: CollectorRegistry) -> ResilienceMetrics:
    """The :class:`ResilienceMetrics` of ``registry``, registered on first use."""
    with _metrics_lock:
        found = _metrics.get(registry)
        if found is None:
            found = _metrics[registry] = ResilienceMetrics(registry)
        return found


class CircuitBreaker:
    """Closed → open after ``failure_threshold`` consecutive failures → half-open after ``reset_timeout_seconds``
    (one trial call at a time) → closed on its success, open again on its failure.

    The lock guards the state only; the call itself runs outside it, so concurrent calls never wait on each
    other. ``on_change(old, new)`` runs on every transition, outside the lock.
    """

    def __init__(
        self,
        failure_threshold: int,
        reset_timeout_seconds: float,
        on_change: Callable[[str, str], None] = lambda old, new: None,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout_seconds = reset_timeout_seconds
        self._on_change = on_change
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        return self._state

    def admit(self, upstream: str) -> None:
        """Let a call through, or raise :class:`CircuitOpen`."""
        with self._lock:
            change = None
            if self._state == OPEN:
                waited = self._clock() - self._opened_at
                if waited < self.reset_timeout_seconds:
                    raise CircuitOpen(
                        f"the circuit to {upstream} is open",
                        upstream=upstream,
                        retry_after_seconds=self.reset_timeout_seconds - waited,
                    )
                change = self._move(HALF_OPEN)
            if self._state == HALF_OPEN:
                if self._trial_in_flight:
                    raise CircuitOpen(
                        f"the circuit to {upstream} is half-open and its trial call is in flight",
                        upstream=upstream,
                        retry_after_seconds=self.reset_timeout_seconds,
                    )
                self._trial_in_flight = True
        self._notify(change)

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            change = None
            if self._state == HALF_OPEN:
                self._trial_in_flight = False
                change = self._move(CLOSED)
        self._notify(change)

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            change = None
            if self._state == HALF_OPEN or (self._state == CLOSED and self._failures >= self.failure_threshold):
                self._trial_in_flight = False
                self._opened_at = self._clock()
                change = self._move(OPEN)
        self._notify(change)

    def abstained(self) -> None:
        """The call ended without saying anything about the upstream (the caller's deadline ran out)."""
        with self._lock:
            if self._state == HALF_OPEN:
                self._trial_in_flight = False

    def _move(self, new: str) -> tuple[str, str]:
        old, self._state = self._state, new
        return old, new

    def _notify(self, change: tuple[str, str] | None) -> None:
        if change is not None:
            self._on_change(*change)


class Policy:
    """Bulkhead, circuit breaker and retries for the upstream ``name`` (see the module's documentation)."""

    def __init__(
        self,
        name: str,
        *,
        registry: CollectorRegistry,
        config: PolicyConfig | None = None,
        sleep: Callable[[float], None] = sleep,
        is_failure: Callable[[Answer], bool] = lambda response: response.status_code >= 500,
    ) -> None:
        """``is_failure(answer)``: whether an answer counts as a failure of the upstream for its breaker (by
        default any 5xx; a caller may exclude an answer that reports another service's failure)."""
        self.name = name
        self.config = config or PolicyConfig()
        self._is_failure = is_failure
        self._sleep = sleep
        self._metrics = metrics_for(registry)
        self._metrics.register(name)
        self._slots = threading.BoundedSemaphore(self.config.max_concurrent)
        self.breaker = CircuitBreaker(
            self.config.failure_threshold, self.config.reset_timeout_seconds, on_change=self._breaker_moved
        )

    def call(self, method: str, headers: Mapping[str, str], send: Callable[[int], AnswerT]) -> AnswerT:
        """``send(attempt)`` (attempt 0, 1, ...) under the policy; retried only when the call is idempotent.

        ``send`` raises a ``requests`` exception for a transport failure and answers anything with a
        ``status_code`` and ``headers`` otherwise (another transport maps its failures to the same).
        """
        if not is_idempotent(method, headers):
            return self._attempt(send, 0)
        config = self.config
        attempts = tenacity.Retrying(
            stop=(
                tenacity.stop_after_attempt(config.max_attempts)
                | tenacity.stop_before_delay(config.max_elapsed_seconds)
                | _StopBeforeDeadline()
            ),
            wait=_Backoff(config.backoff_seconds, config.max_backoff_seconds),
            retry=tenacity.retry_if_exception(_retryable) | tenacity.retry_if_result(_retryable_answer),
            before_sleep=lambda _state: self._metrics.retries.labels(self.name).inc(),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
            sleep=self._sleep,
            reraise=True,
        )
        numbers = itertools.count()
        # The last attempt that may have taken effect: a connection that broke after the request was sent, or, for
        # a call that changes something, an answer (a 502 or 504 from a proxy in between says as little about what
        # the upstream did).
        arrived: requests.RequestException | AnswerT | None = None
        changes = method.upper() not in IDEMPOTENT_METHODS

        def attempt() -> AnswerT:
            nonlocal arrived
            try:
                answer = self._attempt(send, next(numbers))
            except requests.RequestException as exc:
                if not never_arrived(exc):
                    arrived = exc
                raise
            if changes:
                arrived = answer
            return answer

        try:
            return attempts(attempt)
        except requests.RequestException as exc:
            # A retry refused by the breaker (or a connection refused by a restarting upstream) after an attempt
            # that arrived must not say "never arrived": that attempt may have reserved or charged, and the caller
            # would then skip the compensation. The caller gets the last attempt that may have arrived.
            if arrived is None or not never_arrived(exc):
                raise
            if isinstance(arrived, requests.RequestException):
                raise arrived from exc
            return arrived

    def _attempt(self, send: Callable[[int], AnswerT], attempt: int) -> AnswerT:
        if not self._slots.acquire(blocking=False):
            self._metrics.bulkhead_rejections.labels(self.name).inc()
            raise BulkheadFull(
                f"{self.config.max_concurrent} calls to {self.name} are in flight",
                upstream=self.name,
                retry_after_seconds=1.0,
            )
        in_flight = self._metrics.in_flight.labels(self.name)
        in_flight.inc()
        try:
            self.breaker.admit(self.name)
            try:
                response = send(attempt)
            except deadline.DeadlineExceeded:
                self.breaker.abstained()
                raise
            except requests.RequestException as exc:
                if isinstance(exc, requests.Timeout):
                    self._metrics.timeouts.labels(self.name).inc()
                self.breaker.failed()
                raise
            except BaseException:
                self.breaker.abstained()
                raise
            if self._is_failure(response):
                self.breaker.failed()
            else:
                self.breaker.succeeded()
            return response
        finally:
            in_flight.dec()
            self._slots.release()

    def _breaker_moved(self, old: str, new: str) -> None:
        self._metrics.breaker_state.labels(self.name).set(_STATE_VALUES[new])
        self._metrics.breaker_transitions.labels(self.name, new).inc()
        log = logger.warning if new == OPEN else logger.info
        log(
            "circuit %s: %s -> %s",
            self.name,
            old,
            new,
            extra={"event": "breaker.transition", "upstream": self.name, "from": old, "to": new},
        )


def is_idempotent(method: str, headers: Mapping[str, str]) -> bool:
    """Whether a repeat of the call has no further effect: a safe method, or an ``Idempotency-Key``."""
    return method.upper() in IDEMPOTENT_METHODS or any(key.lower() == "idempotency-key" for key in headers)


def retry_after_seconds(response: Answer) -> float | None:
    """The answer's ``Retry-After`` in seconds (a number or an HTTP date), or None."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError):
        return None


def _retryable(exc: BaseException) -> bool:
    return (
        isinstance(exc, requests.RequestException)
        and not isinstance(exc, Rejected | deadline.DeadlineExceeded)
        and not isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema)
    )


def _retryable_answer(response: object) -> bool:
    return getattr(response, "status_code", None) in RETRY_STATUSES


class _StopBeforeDeadline(tenacity.stop.stop_base):
    """No retry whose pause would outrun the request's deadline budget."""

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        remaining = deadline.remaining_seconds()
        return remaining is not None and remaining <= (retry_state.upcoming_sleep or 0.0)


class _Backoff(tenacity.wait.wait_base):
    """The answer's ``Retry-After`` when it has one, else exponential backoff with full jitter."""

    def __init__(self, initial_seconds: float, max_seconds: float) -> None:
        self.initial_seconds = initial_seconds
        self.max_seconds = max_seconds

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        if outcome is not None and not outcome.failed:
            asked = retry_after_seconds(outcome.result())
            if asked is not None:
                return asked  # the stop conditions refuse a retry when this outruns the limits
        ceiling = min(self.max_seconds, self.initial_seconds * 2 ** (retry_state.attempt_number - 1))
        return random.uniform(ceiling / 2, ceiling)
