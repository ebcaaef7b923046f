"""The payments service's settings: the provider is a typed field, and no override is silently ignored."""

from __future__ import annotations

import pytest

from services.payments.provider import SimulatedProvider
from services.payments.settings import PaymentSettings
from telemetry import ConfigError


def test_no_provider_is_configured_unless_one_is_given_so_the_app_builds_the_simulated_one_on_its_database():
    assert PaymentSettings.from_env(env={}).payment_provider is None
    provider = SimulatedProvider()
    assert PaymentSettings.from_env(env={}).with_overrides({"payment_provider": provider}).payment_provider is provider


def test_the_reconciler_reads_its_interval_and_bound_from_the_environment():
    settings = PaymentSettings.from_env(env={"RECONCILE_INTERVAL_SECONDS": "0", "RECONCILE_AFTER_SECONDS": "2.5"})
    assert (settings.reconcile_interval_seconds, settings.reconcile_after_seconds) == (0.0, 2.5)
    defaults = PaymentSettings.from_env(env={})
    assert (defaults.reconcile_interval_seconds, defaults.reconcile_after_seconds) == (5.0, 15.0)


def test_a_provider_that_is_not_a_payment_provider_is_a_configuration_error():
    with pytest.raises(ConfigError, match="payment_provider"):
        PaymentSettings.from_env(env={}).with_overrides({"payment_provider": object()})


def test_an_unknown_override_is_a_configuration_error_naming_it():
    with pytest.raises(ConfigError, match="no setting provider"):
        PaymentSettings.from_env(env={}).with_overrides({"provider": SimulatedProvider()})
