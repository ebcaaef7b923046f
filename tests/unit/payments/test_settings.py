"""The payments service's settings: the provider is a typed field, and no override is silently ignored."""

from __future__ import annotations

import pytest

from services.payments.domain import SimulatedProvider
from services.payments.settings import PaymentSettings
from telemetry import ConfigError


def test_the_simulated_test_card_provider_is_used_unless_another_is_given():
    assert isinstance(PaymentSettings.from_env(env={}).payment_provider, SimulatedProvider)


def test_a_provider_that_is_not_a_payment_provider_is_a_configuration_error():
    with pytest.raises(ConfigError, match="payment_provider"):
        PaymentSettings.from_env(env={}).with_overrides({"payment_provider": object()})


def test_an_unknown_override_is_a_configuration_error_naming_it():
    with pytest.raises(ConfigError, match="no setting provider"):
        PaymentSettings.from_env(env={}).with_overrides({"provider": SimulatedProvider()})
