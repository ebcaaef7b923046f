"""The products service's settings: the common ones (:mod:`services.common.settings`) and its own.

``RESERVATION_TTL_SECONDS``              a reservation still ``held`` this long is released and its stock given
                                         back (default 120: above the longest checkout, whose budget is about a
                                         minute, so only an abandoned reservation expires)
``RESERVATION_SWEEP_INTERVAL_SECONDS``   how often the sweeper looks (default 15; first at start; 0 turns it off)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.common.settings import Settings, env_seconds, seconds


@dataclass(frozen=True, kw_only=True)
class ProductSettings(Settings):
    SERVICE = "products"

    #: Insert the demo catalog when the database has never had a product (tests start empty with False).
    seed_catalog: bool = True
    reservation_ttl_seconds: float = 120.0
    reservation_sweep_interval_seconds: float = 15.0

    def __post_init__(self) -> None:
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
        return {
            **env_seconds(env, "RESERVATION_TTL_SECONDS"),
            **env_seconds(env, "RESERVATION_SWEEP_INTERVAL_SECONDS", zero=True),
        }
