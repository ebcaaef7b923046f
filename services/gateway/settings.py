"""The gateway's settings: the common ones (:mod:`services.common.settings`) and its own.

``notifications_url``                 (``NOTIFICATIONS_URL``, default ``http://127.0.0.1:8005``) the notifications
                                      service, which only the gateway calls;
``PRODUCTS_GRPC_URL``                 ``grpc://host:port`` of products' gRPC server: the catalog reads
                                      (``GET /api/v1/products``, ``GET /api/v1/products/{id}``) go over gRPC
                                      (``make up`` and compose set it); unset, they go over HTTP;
``upstream_connect_timeout_seconds``  connect timeout of every upstream call (default 1 s);
``upstream_read_timeout_seconds``     read timeout of every upstream call (default: the checkout's worst case,
                                      20 s, for orders, whose routes call products and payments in turn, 5 s for
                                      the others). Neither is read from the environment: the
                                      ``UPSTREAM_*_TIMEOUT_SECONDS`` variables are orders' per-call timeouts, and
                                      ``make up`` hands its environment to every service, where they would cut the
                                      gateway's wait for a checkout below the checkout's own worst case;
``order_budget_seconds``              (``ORDER_BUDGET_SECONDS``) the deadline budget of ``POST /api/v1/orders``,
                                      sent to orders as ``X-Request-Budget-Ms`` (:mod:`telemetry.deadline`).
                                      Default: the checkout's worst case with orders' default timeouts,
                                      :func:`services.orders.contract.checkout_worst_case_seconds` (20 s): every
                                      call orders may wait for before it confirms, at its timeouts. A smaller
                                      budget fails the checkouts slower than it (504, and the order is not placed);
                                      orders configured with longer timeouts needs a larger one.

Throttling of login and registration (:mod:`services.gateway.throttle`), each a rate in the ``limits`` notation
(``10 per minute``, ``5/second;100/hour``):

``THROTTLE_LOGIN_PER_ADDRESS``     ``POST /auth/token`` per client address (default 30 per minute)
``THROTTLE_LOGIN_PER_ACCOUNT``     ``POST /auth/token`` per email (default 10 per minute)
``THROTTLE_REGISTER_PER_ADDRESS``  ``POST /users`` per client address (default 20 per minute)
``THROTTLE_REGISTER_PER_ACCOUNT``  ``POST /users`` per email (default 5 per minute)
``THROTTLE_KEY_PREFIX``            the prefix of the counters' keys in Redis (default ``tienda``)
``TRUSTED_PROXY_HOPS``             how many proxies in front of the gateway append to ``X-Forwarded-For``
                                   (default 0: the client is the connection's peer); the front proxy of
                                   ``make up`` and compose is one
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many

from services.common.settings import DEFAULT_URLS, Settings, env_seconds, http_url, seconds
from services.orders.contract import checkout_worst_case_seconds
from telemetry import ConfigError
from telemetry.http import DEFAULT_CONNECT_TIMEOUT_SECONDS, DEFAULT_READ_TIMEOUT_SECONDS

#: field -> (variable, default)
THROTTLES = {
    "throttle_login_per_address": ("THROTTLE_LOGIN_PER_ADDRESS", "30 per minute"),
    "throttle_login_per_account": ("THROTTLE_LOGIN_PER_ACCOUNT", "10 per minute"),
    "throttle_register_per_address": ("THROTTLE_REGISTER_PER_ADDRESS", "20 per minute"),
    "throttle_register_per_account": ("THROTTLE_REGISTER_PER_ACCOUNT", "5 per minute"),
}
MAX_PROXY_HOPS = 5


def grpc_target(url: str) -> str:
    """``grpc://host:port`` as gRPC's ``host:port`` target; :class:`ConfigError` for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        port = None
        parts = urlsplit("")
    if parts.scheme != "grpc" or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise ConfigError(f"PRODUCTS_GRPC_URL={url!r} is not a grpc://host:port URL")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{port}"


@dataclass(frozen=True, kw_only=True)
class GatewaySettings(Settings):
    SERVICE = "gateway"

    upstream_connect_timeout_seconds: float = DEFAULT_CONNECT_TIMEOUT_SECONDS
    #: None: each upstream's own default.
    upstream_read_timeout_seconds: float | None = None
    throttle_login_per_address: str = THROTTLES["throttle_login_per_address"][1]
    throttle_login_per_account: str = THROTTLES["throttle_login_per_account"][1]
    throttle_register_per_address: str = THROTTLES["throttle_register_per_address"][1]
    throttle_register_per_account: str = THROTTLES["throttle_register_per_account"][1]
    throttle_key_prefix: str = "tienda"
    trusted_proxy_hops: int = 0
    order_budget_seconds: float = checkout_worst_case_seconds()
    notifications_url: str = DEFAULT_URLS["NOTIFICATIONS_URL"]
    #: ``host:port`` (from ``grpc://host:port``) of products' gRPC server; None: the catalog is read over HTTP.
    products_grpc_target: str | None = None

    @classmethod
    def read_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        found: dict[str, Any] = env_seconds(env, "ORDER_BUDGET_SECONDS")
        variable = "NOTIFICATIONS_URL"
        found["notifications_url"] = http_url(variable, env.get(variable, "").strip() or DEFAULT_URLS[variable])
        for name, (variable, _) in THROTTLES.items():
            if env.get(variable, "").strip():
                found[name] = env[variable].strip()
        if env.get("THROTTLE_KEY_PREFIX", "").strip():
            found["throttle_key_prefix"] = env["THROTTLE_KEY_PREFIX"].strip()
        grpc_url = env.get("PRODUCTS_GRPC_URL", "").strip()
        if grpc_url:
            found["products_grpc_target"] = grpc_target(grpc_url)
        hops = env.get("TRUSTED_PROXY_HOPS", "").strip()
        if hops:
            if not hops.isascii() or not hops.isdigit():
                raise ConfigError(f"TRUSTED_PROXY_HOPS={hops!r} is not a whole number of proxies")
            found["trusted_proxy_hops"] = int(hops)
        return found

    def __post_init__(self) -> None:
        for name in ("upstream_connect_timeout_seconds", "order_budget_seconds"):
            object.__setattr__(self, name, seconds(name, getattr(self, name)))
        if self.upstream_read_timeout_seconds is not None:
            name = "upstream_read_timeout_seconds"
            object.__setattr__(self, name, seconds(name, self.upstream_read_timeout_seconds))
        for name, (variable, _) in THROTTLES.items():
            value = getattr(self, name)
            try:
                parse_many(value)
            except ValueError:
                raise ConfigError(f"{variable}={value!r} is not a rate like '10 per minute'") from None
        hops = self.trusted_proxy_hops
        if isinstance(hops, bool) or not isinstance(hops, int) or not 0 <= hops <= MAX_PROXY_HOPS:
            raise ConfigError(f"TRUSTED_PROXY_HOPS={hops!r} is not a number of proxies 0..{MAX_PROXY_HOPS}")

    def read_timeout_seconds(self, upstream: str) -> float:
        """How long a call to ``upstream`` may wait for its answer."""
        default = checkout_worst_case_seconds() if upstream == "orders" else DEFAULT_READ_TIMEOUT_SECONDS
        return self.upstream_read_timeout_seconds or default
