"""The payments service's settings: the common ones (:mod:`services.common.settings`) and its own.

``RECONCILE_INTERVAL_SECONDS``   how often the reconciler runs (default 5; first at start; 0 turns it off)
``RECONCILE_AFTER_SECONDS``      a payment ``processing`` this long is taken by the reconciler (default 15): longer
                                 than any live request waits for the provider, so a live request is never raced
``RELAY_INTERVAL_SECONDS`` ``EVENTS_EXCHANGE``  the outbox relay's (:class:`services.common.relay.RelaySettings`)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.common.relay import RelaySettings
from services.common.settings import Settings, env_seconds, seconds
from telemetry import ConfigError

from .domain import PaymentProvider


@dataclass(frozen=True, kw_only=True)
class PaymentSettings(Settings, RelaySettings):
    SERVICE = "payments"

    reconcile_interval_seconds: float = 5.0
    reconcile_after_seconds: float = 15.0
    #: The card network asked to authorize charges (tests count or hold authorizations with their own); None:
    #: :class:`services.payments.provider.SimulatedProvider` with its ledger in the payments database.
    payment_provider: PaymentProvider | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.check_relay_settings()
        object.__setattr__(
            self,
            "reconcile_interval_seconds",
            seconds("reconcile_interval_seconds", self.reconcile_interval_seconds, zero=True),
        )
        object.__setattr__(
            self, "reconcile_after_seconds", seconds("reconcile_after_seconds", self.reconcile_after_seconds)
        )
        if self.payment_provider is not None and not isinstance(self.payment_provider, PaymentProvider):
            raise ConfigError("payment_provider must be a services.payments.domain.PaymentProvider")

    @classmethod
    def read_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        return {
            **env_seconds(env, "RECONCILE_INTERVAL_SECONDS", zero=True),
            **env_seconds(env, "RECONCILE_AFTER_SECONDS"),
            **cls.read_relay_env(env),
        }
