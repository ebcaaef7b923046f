"""Typed settings: the environment read once, overrides that must name a field, one duration rule."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from services.common.settings import MAX_BROKER_NAME_LENGTH, Settings, seconds
from services.gateway.settings import GatewaySettings
from services.notifications.settings import NotificationSettings
from services.orders.settings import OrderSettings
from services.payments.settings import PaymentSettings
from services.products.settings import ProductSettings
from telemetry import ConfigError
from telemetry.resilience import PolicyConfig


@dataclass(frozen=True, kw_only=True)
class ShopSettings(Settings):
    SERVICE = "shop"

    greeting: str = "hello"
    timeout_seconds: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "timeout_seconds", seconds("timeout_seconds", self.timeout_seconds))


def test_a_service_settings_class_reads_the_common_variables_for_its_own_service():
    settings = ShopSettings.from_env(env={"DATABASE_URL": "sqlite:///x.db"})

    assert (settings.service, settings.environment, settings.database_url) == ("shop", "development", "sqlite:///x.db")
    assert settings.products_url == "http://127.0.0.1:8001"


def test_an_override_replaces_a_declared_field_and_is_checked_again():
    settings = ShopSettings.from_env(env={}).with_overrides({"greeting": "hola", "timeout_seconds": 2})

    assert (settings.greeting, settings.timeout_seconds) == ("hola", 2.0)
    with pytest.raises(ConfigError, match="timeout_seconds"):
        settings.with_overrides({"timeout_seconds": "2"})


def test_an_override_key_that_names_no_setting_is_a_configuration_error_naming_it():
    with pytest.raises(ConfigError, match="no setting greting"):
        ShopSettings.from_env(env={}).with_overrides({"greting": "hola"})


def test_the_service_name_is_not_an_override():
    with pytest.raises(ConfigError, match="service"):
        ShopSettings.from_env(env={}).with_overrides({"service": "other"})


def test_the_jwt_secret_never_appears_in_the_settings_repr():
    settings = ShopSettings.from_env(env={"JWT_SECRET": "s" * 40})

    assert "s" * 40 not in repr(settings)


@pytest.mark.parametrize("value", [0, -1, "5", True, None, [1]])
def test_a_duration_is_a_positive_number_of_seconds(value):
    with pytest.raises(ConfigError, match="wait_seconds"):
        seconds("wait_seconds", value)


def test_a_duration_may_be_zero_where_zero_means_off():
    assert seconds("interval_seconds", 0, zero=True) == 0.0
    assert seconds("interval_seconds", 1.5) == 1.5


@pytest.mark.parametrize(
    ("settings", "name", "value"),
    [
        (PaymentSettings, "RECONCILE_AFTER_SECONDS", "0"),
        (PaymentSettings, "RECONCILE_AFTER_SECONDS", "soon"),
        (PaymentSettings, "RECONCILE_INTERVAL_SECONDS", "-1"),
        (ProductSettings, "RESERVATION_TTL_SECONDS", "0"),
        (ProductSettings, "RESERVATION_TTL_SECONDS", "2m"),
        (ProductSettings, "RESERVATION_SWEEP_INTERVAL_SECONDS", "-5"),
        (GatewaySettings, "THROTTLE_LOGIN_PER_ACCOUNT", "often"),
        (GatewaySettings, "TRUSTED_PROXY_HOPS", "one"),
        (GatewaySettings, "TRUSTED_PROXY_HOPS", "9"),
        (GatewaySettings, "NOTIFICATIONS_URL", "notifications:8005"),
        (OrderSettings, "RELAY_INTERVAL_SECONDS", "0"),
        (PaymentSettings, "RELAY_INTERVAL_SECONDS", "fast"),
        (ShopSettings, "UPSTREAM_MAX_ATTEMPTS", "0"),
        (ShopSettings, "UPSTREAM_MAX_ATTEMPTS", "2.5"),
        (ShopSettings, "UPSTREAM_RETRY_SECONDS", "-1"),
        (ShopSettings, "BREAKER_FAILURE_THRESHOLD", "many"),
        (ShopSettings, "BREAKER_RESET_SECONDS", "later"),
        (ShopSettings, "BULKHEAD_MAX_CONCURRENT", "0"),
    ],
)
def test_a_malformed_service_setting_in_the_environment_is_a_configuration_error_naming_the_variable(
    settings, name, value
):
    with pytest.raises(ConfigError, match=name):
        settings.from_env(env={name: value})


def test_the_relay_settings_of_orders_and_payments_are_read_from_the_environment():
    env = {"RELAY_INTERVAL_SECONDS": "0.5", "EVENTS_EXCHANGE": "shop.events"}
    for settings in (OrderSettings.from_env(env=env), PaymentSettings.from_env(env=env)):
        assert (settings.relay_interval_seconds, settings.events_exchange) == (0.5, "shop.events")
    assert (OrderSettings.from_env(env={}).relay_interval_seconds, OrderSettings.from_env(env={}).events_exchange) == (
        1.0,
        "tienda.events",
    )


def test_the_resilience_variables_configure_the_policy_of_every_upstream_client():
    env = {"UPSTREAM_MAX_ATTEMPTS": "2", "UPSTREAM_RETRY_SECONDS": "0.5", "BREAKER_FAILURE_THRESHOLD": "3",
           "BREAKER_RESET_SECONDS": "1.5", "BULKHEAD_MAX_CONCURRENT": "4"}  # fmt: skip

    config = ShopSettings.from_env(env=env).resilience

    assert (config.max_attempts, config.max_elapsed_seconds, config.failure_threshold) == (2, 0.5, 3)
    assert (config.reset_timeout_seconds, config.max_concurrent) == (1.5, 4)
    assert ShopSettings.from_env(env={}).resilience == PolicyConfig()


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        (OrderSettings, "events_exchange"),
        (PaymentSettings, "events_exchange"),
        (NotificationSettings, "events_exchange"),
        (NotificationSettings, "notify_queue"),
    ],
)
@pytest.mark.parametrize("value", ["", "   ", "x" * (MAX_BROKER_NAME_LENGTH + 1), 7, None])
def test_an_exchange_or_queue_setting_that_cannot_name_one_is_refused(settings, name, value):
    with pytest.raises(ConfigError, match="is not an exchange or queue name"):
        settings.from_env(env={}).with_overrides({name: value})


@pytest.mark.parametrize("settings", [OrderSettings, NotificationSettings])
def test_an_exchange_name_as_long_as_allowed_is_taken(settings):
    longest = "x" * MAX_BROKER_NAME_LENGTH
    assert settings.from_env(env={}).with_overrides({"events_exchange": longest}).events_exchange == longest
