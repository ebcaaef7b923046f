"""Throttled login and registration: limits per client address and per account, with flask-limiter.

Why here and not in users: the gateway is where the client's address is known (users only ever sees the
gateway), and a refused attempt costs nothing behind it: no argon2 hash (80-95 ms of CPU and 64 MiB each) is
computed for a request that is over its limit.

* ``POST /api/v1/auth/token`` and ``POST /api/v1/users`` each have a limit per client address and one per
  account (the body's ``email``, case-insensitive, kept only as a sha256 in the counters' keys); the rates are
  :class:`~services.gateway.settings.GatewaySettings` fields (``THROTTLE_*``).
* Counters live in Redis when ``REDIS_URL`` is set (shared by every gateway process, keys prefixed with
  ``THROTTLE_KEY_PREFIX``), in memory otherwise. While Redis is unreachable the limits are kept in memory
  (flask-limiter's fallback), so logins stay both possible and throttled.
* The window is a moving one (limits' ``moving-window``): no burst at a window's edge.
* Past a limit: 429 ``rate_limited`` with the JSON error body and ``Retry-After`` (whole seconds until the
  oldest counted attempt leaves the window), counted in ``tienda_rate_limited_total{route}``. The upstream is
  not called.
* The client address is the connection's peer, or, behind ``TRUSTED_PROXY_HOPS`` proxies, the address the
  outermost trusted proxy appended to ``X-Forwarded-For``: entries a client wrote itself further left are never
  read, so a forged header cannot pick another address's budget.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.errors import RateLimitExceeded

from services.common.validation import loads_strict
from telemetry.errors import error_response

from .metrics import GatewayMetrics
from .settings import GatewaySettings

View = Callable[..., Any]


def client_address(remote_addr: str | None, forwarded_for: str | None, trusted_hops: int) -> str:
    """Who the client is: ``remote_addr`` with no trusted proxy; else the ``trusted_hops``-th address from the
    right of ``X-Forwarded-For`` (each trusted proxy appends the peer it saw). A header too short or not an
    address means the request did not come through the proxies: the peer is the client then."""
    peer = remote_addr or "unknown"
    if trusted_hops == 0 or not forwarded_for:
        return peer
    hops = [part.strip() for part in forwarded_for.split(",")]
    if len(hops) < trusted_hops:
        return peer
    candidate = hops[-trusted_hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


def account_key() -> str:
    """The account a login or registration is for: the sha256 of its email (trimmed, lower-cased), or ``""``
    when the body names none (the per-account limit is then exempt; the per-address one still holds).

    Reading the body here caches it for the handler, which reads it once more; the key is kept in ``g``."""
    if "throttle_account" not in g:
        g.throttle_account = ""
        try:
            body = loads_strict(request.get_data(cache=True))
        except ValueError:
            return ""
        email = body.get("email") if isinstance(body, dict) else None
        if isinstance(email, str) and email.strip():
            g.throttle_account = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    key: str = g.throttle_account
    return key


def no_account() -> bool:
    return not account_key()


class Throttle:
    """The limiter of one gateway app; :meth:`login` and :meth:`registration` decorate the two views."""

    def __init__(self, app: Flask, settings: GatewaySettings, metrics: GatewayMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.limiter = Limiter(
            key_func=self.address,
            app=app,
            storage_uri=settings.redis_url or "memory://",
            strategy="moving-window",
            key_prefix=settings.throttle_key_prefix,
            headers_enabled=False,
            swallow_errors=True,
            in_memory_fallback_enabled=settings.redis_url is not None,
            fail_on_first_breach=False,
            on_breach=self._count,
        )
        app.register_error_handler(RateLimitExceeded, self._refuse)

    def address(self) -> str:
        forwarded = request.headers.get("X-Forwarded-For")
        return client_address(request.remote_addr, forwarded, self.settings.trusted_proxy_hops)

    def _limits(self, view: View, per_address: str, per_account: str, scope: str) -> View:
        by_account = self.limiter.limit(
            per_account, key_func=account_key, scope=f"{scope}-account", exempt_when=no_account
        )
        by_address = self.limiter.limit(per_address, key_func=self.address, scope=f"{scope}-address")
        return by_address(by_account(view))

    def login(self, view: View) -> View:
        s = self.settings
        return self._limits(view, s.throttle_login_per_address, s.throttle_login_per_account, "login")

    def registration(self, view: View) -> View:
        s = self.settings
        return self._limits(view, s.throttle_register_per_address, s.throttle_register_per_account, "register")

    def _count(self, limit: RequestLimit) -> None:
        rule = request.url_rule
        self.metrics.rate_limited(rule.rule if rule is not None else request.path)

    def _refuse(self, exc: RateLimitExceeded) -> Response:
        current = self.limiter.current_limit
        retry_after = max(1, math.ceil(current.window.reset_time - time.time())) if current is not None else 1
        return error_response(
            429,
            "rate_limited",
            "Too many attempts; try again later.",
            headers={"Retry-After": str(retry_after)},
        )
