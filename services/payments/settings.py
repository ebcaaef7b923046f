"""The payments service's settings: the common ones (:mod:`services.common.settings`) and its own."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.common.settings import Settings
from telemetry import ConfigError

from .domain import PaymentProvider, SimulatedProvider


@dataclass(frozen=True, kw_only=True)
class PaymentSettings(Settings):
    SERVICE = "payments"

    #: The card network asked to authorize charges (tests count or hold authorizations with their own).
    payment_provider: PaymentProvider = field(default_factory=SimulatedProvider, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.payment_provider, PaymentProvider):
            raise ConfigError("payment_provider must be a services.payments.domain.PaymentProvider")
