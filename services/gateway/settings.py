"""The gateway's settings: the common ones (:mod:`services.common.settings`) and its own.

``upstream_connect_timeout_seconds``  connect timeout of every upstream call (default 1 s);
``upstream_read_timeout_seconds``     read timeout of every upstream call (default: 10 s for orders, whose
                                      ``POST /orders`` runs a saga of several calls, 5 s for the others).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.settings import Settings, seconds

CONNECT_TIMEOUT_SECONDS = 1.0
READ_TIMEOUT_SECONDS = 5.0
ORDERS_READ_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, kw_only=True)
class GatewaySettings(Settings):
    SERVICE = "gateway"

    upstream_connect_timeout_seconds: float = CONNECT_TIMEOUT_SECONDS
    #: None: each upstream's own default.
    upstream_read_timeout_seconds: float | None = None

    def __post_init__(self) -> None:
        name = "upstream_connect_timeout_seconds"
        object.__setattr__(self, name, seconds(name, self.upstream_connect_timeout_seconds))
        if self.upstream_read_timeout_seconds is not None:
            name = "upstream_read_timeout_seconds"
            object.__setattr__(self, name, seconds(name, self.upstream_read_timeout_seconds))

    def read_timeout_seconds(self, upstream: str) -> float:
        """How long a call to ``upstream`` may wait for its answer."""
        default = ORDERS_READ_TIMEOUT_SECONDS if upstream == "orders" else READ_TIMEOUT_SECONDS
        return self.upstream_read_timeout_seconds or default
