"""The orders service's settings: the common ones (:mod:`services.common.settings`) and its own.

``recovery_grace_seconds`` (default 30; ``RECOVERY_GRACE_SECONDS``)
    an order untouched this long in ``pending``/``reserved``/``paid``/``compensating``/``cancelling`` was
    interrupted.
``recovery_interval_seconds`` (default 15; ``RECOVERY_INTERVAL_SECONDS``)
    how long a daemon thread waits after each recovery sweep before the next (the first runs at start); 0 turns
    the thread off.
``upstream_connect_timeout_seconds`` ``upstream_read_timeout_seconds`` (default 1 and 5;
``UPSTREAM_CONNECT_TIMEOUT_SECONDS``, ``UPSTREAM_READ_TIMEOUT_SECONDS``)
    the timeouts of each call to products and payments (``services.orders.contract``; the gateway's budget for
    ``POST /orders`` is computed from the same defaults). The recovery grace should be at least
    :func:`~services.orders.contract.longest_unsaved_seconds` of them (18 s by default), or the sweep may take
    an order a live request is still working on: ``create_app`` logs a warning (``orders.recovery_grace_short``).
``confirm_margin_seconds`` (default 0.5)
    a checkout confirms only with this much of its caller's deadline left.
``relay_interval_seconds`` ``events_exchange`` (``RELAY_INTERVAL_SECONDS``, ``EVENTS_EXCHANGE``)
    the outbox relay's, :class:`services.common.relay.RelaySettings` (it runs when ``AMQP_URL`` is set).
``inventory`` ``payments``
    objects implementing the domain's ``Inventory`` / ``Payments`` ports, used instead of the HTTP clients of
    the products and payments services (tests pass fakes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.common.relay import RelaySettings
from services.common.settings import Settings, env_seconds, seconds
from telemetry import ConfigError

from .contract import (
    CONFIRM_MARGIN_SECONDS,
    HOP_CONNECT_TIMEOUT_SECONDS,
    HOP_READ_TIMEOUT_SECONDS,
    RECOVERY_GRACE_SECONDS,
    longest_unsaved_seconds,
)
from .domain import Inventory, Payments

_DURATIONS = ("recovery_grace_seconds", "recovery_interval_seconds", "confirm_margin_seconds")
_POSITIVE = ("upstream_connect_timeout_seconds", "upstream_read_timeout_seconds")


@dataclass(frozen=True, kw_only=True)
class OrderSettings(Settings, RelaySettings):
    SERVICE = "orders"

    recovery_grace_seconds: float = RECOVERY_GRACE_SECONDS
    recovery_interval_seconds: float = 15.0
    upstream_connect_timeout_seconds: float = HOP_CONNECT_TIMEOUT_SECONDS
    upstream_read_timeout_seconds: float = HOP_READ_TIMEOUT_SECONDS
    confirm_margin_seconds: float = CONFIRM_MARGIN_SECONDS
    inventory: Inventory | None = field(default=None, repr=False, compare=False)
    payments: Payments | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.check_relay_settings()
        for name in _DURATIONS + _POSITIVE:
            object.__setattr__(self, name, seconds(name, getattr(self, name), zero=name in _DURATIONS))
        if self.inventory is not None and not isinstance(self.inventory, Inventory):
            raise ConfigError("inventory must be a services.orders.domain.Inventory")
        if self.payments is not None and not isinstance(self.payments, Payments):
            raise ConfigError("payments must be a services.orders.domain.Payments")

    @classmethod
    def read_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        return {
            **env_seconds(env, "RECOVERY_GRACE_SECONDS", zero=True),
            **env_seconds(env, "RECOVERY_INTERVAL_SECONDS", zero=True),
            **env_seconds(env, "UPSTREAM_CONNECT_TIMEOUT_SECONDS"),
            **env_seconds(env, "UPSTREAM_READ_TIMEOUT_SECONDS"),
            **cls.read_relay_env(env),
        }

    def unsafe_grace(self) -> bool:
        """Whether the sweep runs with a grace period shorter than a live request may go without saving."""
        longest = longest_unsaved_seconds(self.upstream_connect_timeout_seconds, self.upstream_read_timeout_seconds)
        return self.recovery_interval_seconds > 0 and self.recovery_grace_seconds < longest
