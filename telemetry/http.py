"""The outgoing HTTP client every service uses to call another.

:class:`Client` wraps one pooled :class:`requests.Session` per upstream and, on every call:

* applies a connect and a read timeout (no call waits forever);
* makes a CLIENT span (``{METHOD} {route}`` when the caller names the route template, else ``{METHOD}``)
  with ``http.request.method``, ``server.address``, ``server.port``, ``url.full``,
  ``http.response.status_code`` and ``error.type``; 4xx and 5xx answers and transport errors mark it as
  an error;
* sends ``traceparent``, ``baggage`` and ``X-Request-ID`` so the next service joins the trace and logs
  the same request ID, but only to the client's own internal upstream: a URL on any other host gets no
  propagation headers, so trace context and request IDs never leak to third parties;
* within a request that has a deadline (:mod:`telemetry.deadline`), caps the connect and read timeouts to
  the remaining budget, sends it as ``X-Request-Budget-Ms`` to the internal upstream only, and raises
  :class:`telemetry.deadline.DeadlineExceeded` without sending when no budget is left (or when a timeout
  ran out because the budget did);
* observes ``http_client_request_duration_seconds`` {server_address, server_port, http_request_method,
  http_response_status_code}, with ``0`` as the status when no response arrived, and a ``trace_id``
  exemplar.

Resilience plugs in at one seam: ``policy``, a :class:`telemetry.resilience.Policy` (bulkhead, circuit
breaker, retries of idempotent calls) or anything with its ``call(method, headers, send)``, where
``send(attempt)`` makes one attempt in its own client span; attempts after the first carry
``http.request.resend_count``. Without a policy a call is made exactly once.

Fault rules for ``upstream:NAME`` (:mod:`telemetry.faults`, ``NAME`` is the client's ``name``) apply to
each attempt, inside its span.

Example::

    products = Client(config.products_url, telemetry=tel, name="products")
    response = products.get("/products/7", route="/products/{id}")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from time import perf_counter
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from requests.adapters import HTTPAdapter

from . import deadline, requestid
from .faults import Faults
from .metrics import HttpMetrics, normalize_method

if TYPE_CHECKING:
    from . import Telemetry


class SendPolicy(Protocol):
    """What a client's ``policy`` does: make the call through ``send(attempt)``, once or more."""

    def call(
        self, method: str, headers: Mapping[str, str], send: Callable[[int], requests.Response]
    ) -> requests.Response: ...


DEFAULT_CONNECT_TIMEOUT_SECONDS = 1.0
DEFAULT_READ_TIMEOUT_SECONDS = 5.0


#: The keyword arguments :meth:`Client._exchange` sends without the session; ``allow_redirects=True`` takes the
#: session's way (internal calls follow no redirect otherwise).
_DIRECT_KEYWORDS = frozenset({"json", "data", "params", "timeout", "allow_redirects"})


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or "", port


class Client:
    """A pooled, instrumented HTTP client for one upstream at ``base_url``."""

    def __init__(
        self,
        base_url: str,
        *,
        telemetry: Telemetry,
        name: str | None = None,
        connect_timeout_seconds: float = DEFAULT_CONNECT_TIMEOUT_SECONDS,
        read_timeout_seconds: float = DEFAULT_READ_TIMEOUT_SECONDS,
        pool_maxsize: int = 32,
        internal: bool = True,
        policy: SendPolicy | None = None,
    ) -> None:
        """``telemetry`` is the handle :func:`telemetry.instrument` returned; ``internal=False`` marks an
        upstream outside tienda, which then never receives propagation headers."""
        self.base_url = base_url.rstrip("/") + "/"
        self.name = name or urlsplit(base_url).hostname
        self.timeout = (connect_timeout_seconds, read_timeout_seconds)
        self.internal = internal
        self.policy = policy
        self._origin = _host_port(self.base_url)
        self._tracer: trace.Tracer = telemetry.tracer
        self._metrics: HttpMetrics = telemetry.metrics
        self._faults: Faults = telemetry.faults
        self.session = requests.Session()
        self._adapter = adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_maxsize, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._default_headers = dict(self.session.headers)

    def request(self, method: str, path: str, *, route: str | None = None, **kwargs: Any) -> requests.Response:
        """Send ``method`` to ``path`` (relative to the base URL, or absolute) and return the response.

        ``route`` is the path template (``/products/{id}``) used for the span name; keyword arguments go to
        :meth:`requests.Session.request`. Transport errors (timeouts, refused connections) are raised as
        the usual ``requests`` exceptions after being recorded.
        """
        url = urljoin(self.base_url, path.lstrip("/")) if "://" not in path else path
        kwargs.setdefault("timeout", self.timeout)

        method = method.upper()
        if self.policy is None:
            return self._send(method, url, route, kwargs, 0)
        return self.policy.call(
            method, kwargs.get("headers") or {}, lambda attempt: self._send(method, url, route, kwargs, attempt)
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        self.session.close()

    def _send(
        self, method: str, url: str, route: str | None, kwargs: dict[str, Any], attempt: int
    ) -> requests.Response:
        host, port = _host_port(url)
        metric_method = normalize_method(method)
        attributes: dict[str, str | int] = {
            "http.request.method": metric_method,
            "server.address": host,
            "server.port": port,
            "url.full": url.split("?", 1)[0],
        }
        if route:
            attributes["url.template"] = route
        if attempt:
            attributes["http.request.resend_count"] = attempt
        name = f"{metric_method} {route}" if route else metric_method
        # A copy: with a retrying policy the same kwargs serve every attempt, and each needs the caller's
        # headers (an Idempotency-Key among them).
        kwargs = dict(kwargs)
        headers = dict(kwargs.pop("headers", None) or {})
        remaining = deadline.remaining_seconds()
        if remaining is not None:
            if remaining <= 0:
                raise deadline.DeadlineExceeded(f"no budget left to call {self.name}: not sent", sent=False)
            kwargs = {**kwargs, "timeout": deadline.cap_timeout(kwargs.get("timeout"), remaining)}
        started = perf_counter()
        with self._tracer.start_as_current_span(
            name,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            if self.internal and (host, port) == self._origin:
                propagate.inject(headers)
                rid = requestid.current()
                if rid:
                    headers[requestid.HEADER] = rid
                if remaining is not None:
                    headers[deadline.HEADER] = deadline.header_value(remaining)
            status = 0
            try:
                if self._faults.outgoing:  # empty unless a fault rule is set (telemetry.faults)
                    response = self._faults.call(
                        self.name,
                        method,
                        route,
                        kwargs.get("timeout"),
                        lambda: self._exchange(method, url, headers, kwargs),
                    )
                else:
                    response = self._exchange(method, url, headers, kwargs)
                status = response.status_code
                span.set_attribute("http.response.status_code", status)
                if status >= 400:
                    span.set_attribute("error.type", str(status))
                    span.set_status(Status(StatusCode.ERROR))
                return response
            except requests.RequestException as exc:
                span.set_attribute("error.type", type(exc).__qualname__)
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                if remaining is not None and isinstance(exc, requests.Timeout) and deadline.spent():
                    sent = not isinstance(exc, requests.ConnectTimeout)
                    raise deadline.DeadlineExceeded(f"the budget ran out calling {self.name}", sent=sent) from exc
                raise
            finally:
                ctx = span.get_span_context()
                self._metrics.observe_client(
                    host,
                    str(port),
                    metric_method,
                    status,
                    perf_counter() - started,
                    format(ctx.trace_id, "032x") if ctx.trace_flags.sampled else None,
                )

    def _exchange(self, method: str, url: str, headers: dict[str, str], kwargs: dict[str, Any]) -> requests.Response:
        """One request and its response, body read.

        To the internal upstream, with nothing but a body, query parameters and a timeout, the request is
        prepared and handed straight to the session's pooled adapter. That skips what ``Session.request`` does for
        the web at large and tienda's calls never need: merging the session's cookies, hooks, auth and the proxy
        and CA settings of the environment, and following redirects (an internal service answers none; the
        gateway passes any 3xx on as it is). It was a quarter of the client's CPU per call, about 400-550 us of
        1.3-1.9 ms on this project's 2-core benchmark machine (docs/overhead-analysis.md). The session's
        default headers (User-Agent, Accept, Accept-Encoding, Connection) are still sent. Any other call goes
        through the session as usual.
        """
        direct = kwargs.get("allow_redirects") is not True and _DIRECT_KEYWORDS.issuperset(kwargs)
        if not self.internal or not direct:
            return self.session.request(method, url, headers=headers, **kwargs)
        prepared = requests.Request(
            method,
            url,
            headers={**self._default_headers, **headers},
            json=kwargs.get("json"),
            data=kwargs.get("data"),
            params=kwargs.get("params"),
        ).prepare()
        response = self._adapter.send(prepared, timeout=kwargs.get("timeout"))
        response.content  # noqa: B018 - read the body now, as Session.request does, so the connection goes back to the pool
        return response
