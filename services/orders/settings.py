"""The orders service's settings: the common ones (:mod:`services.common.settings`) and its own.

``recovery_grace_seconds`` (default 30; ``RECOVERY_GRACE_SECONDS``)
    an order untouched this long in ``pending``/``reserved``/``paid``/``compensating`` was interrupted.
``recovery_interval_seconds`` (default 15; ``RECOVERY_INTERVAL_SECONDS``)
    how often a daemon thread runs the recovery sweep (first at start); 0 turns the thread off.
``inventory`` ``payments``
    objects implementing the domain's ``Inventory`` / ``Payments`` ports, used instead of the HTTP clients of
    the products and payments services (tests pass fakes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.common.settings import Settings, env_seconds, seconds
from telemetry import ConfigError

from .domain import Inventory, Payments


@dataclass(frozen=True, kw_only=True)
class OrderSettings(Settings):
    SERVICE = "orders"

    recovery_grace_seconds: float = 30.0
    recovery_interval_seconds: float = 15.0
    inventory: Inventory | None = field(default=None, repr=False, compare=False)
    payments: Payments | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("recovery_grace_seconds", "recovery_interval_seconds"):
            object.__setattr__(self, name, seconds(name, getattr(self, name), zero=True))
        if self.inventory is not None and not isinstance(self.inventory, Inventory):
            raise ConfigError("inventory must be a services.orders.domain.Inventory")
        if self.payments is not None and not isinstance(self.payments, Payments):
            raise ConfigError("payments must be a services.orders.domain.Payments")

    @classmethod
    def read_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        return {
            **env_seconds(env, "RECOVERY_GRACE_SECONDS", zero=True),
            **env_seconds(env, "RECOVERY_INTERVAL_SECONDS", zero=True),
        }
