"""The products service's settings: the common ones (:mod:`services.common.settings`) and its own.

``RESERVATION_TTL_SECONDS``              a reservation still ``held`` this long is released and its stock given
                                         back (default 120: above the longest checkout, whose budget is about a
                                         minute, so only an abandoned reservation expires)
``RESERVATION_SWEEP_INTERVAL_SECONDS``   how often the sweeper looks (default 15; first at start; 0 turns it off)
``PRODUCTS_GRPC_PORT``                   serve the catalog over gRPC on this port too (``make up`` and compose:
                                         50051; 0 picks a free one; unset: no gRPC), see
                                         :mod:`services.products.grpc_server`
``PRODUCTS_GRPC_HOST``                   the address it listens on (default 127.0.0.1; 0.0.0.0 in containers)
``PRODUCT_CACHE_TTL_SECONDS``            how long a product read stays in the Redis cache when ``REDIS_URL`` is set
                                         (default 5): the most the stock customers see may lag behind
``PRODUCT_CACHE_KEY_PREFIX``             the prefix of the cache's keys in Redis (default ``tienda:products``)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.common.settings import Settings, env_seconds, seconds
from telemetry import ConfigError

MAX_PORT = 65535


@dataclass(frozen=True, kw_only=True)
class ProductSettings(Settings):
    SERVICE = "products"

    #: Insert the demo catalog when the database has never had a product (tests start empty with False).
    seed_catalog: bool = True
    reservation_ttl_seconds: float = 120.0
    reservation_sweep_interval_seconds: float = 15.0
    #: None: no gRPC server; 0: any free port (tests read it from the wiring).
    grpc_port: int | None = None
    grpc_host: str = "127.0.0.1"
    product_cache_ttl_seconds: float = 5.0
    product_cache_key_prefix: str = "tienda:products"

    def __post_init__(self) -> None:
        port = self.grpc_port
        if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= MAX_PORT):
            raise ConfigError(f"PRODUCTS_GRPC_PORT={port!r} is not a port number 0..{MAX_PORT}")
        object.__setattr__(
            self, "product_cache_ttl_seconds", seconds("product_cache_ttl_seconds", self.product_cache_ttl_seconds)
        )
        object.__setattr__(
            self, "reservation_ttl_seconds", seconds("reservation_ttl_seconds", self.reservation_ttl_seconds)
        )
        object.__setattr__(
            self,
            "reservation_sweep_interval_seconds",
            seconds("reservation_sweep_interval_seconds", self.reservation_sweep_interval_seconds, zero=True),
        )

    @classmethod
    def read_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        prefix = env.get("PRODUCT_CACHE_KEY_PREFIX", "").strip()
        found: dict[str, Any] = {
            **({"product_cache_key_prefix": prefix} if prefix else {}),
            **env_seconds(env, "RESERVATION_TTL_SECONDS"),
            **env_seconds(env, "RESERVATION_SWEEP_INTERVAL_SECONDS", zero=True),
            **env_seconds(env, "PRODUCT_CACHE_TTL_SECONDS"),
        }
        port = env.get("PRODUCTS_GRPC_PORT", "").strip()
        if port:
            if not (port.isascii() and port.isdigit() and len(port) <= 5):
                raise ConfigError(f"PRODUCTS_GRPC_PORT={port!r} is not a port number 0..{MAX_PORT}")
            found["grpc_port"] = int(port)
        host = env.get("PRODUCTS_GRPC_HOST", "").strip()
        if host:
            found["grpc_host"] = host
        return found
