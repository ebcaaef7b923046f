"""Who a client is behind the trusted proxies, and how the throttle's settings are read and checked."""

from __future__ import annotations

import secrets

import pytest

from services.gateway.settings import GatewaySettings
from services.gateway.throttle import client_address
from telemetry import ConfigError


@pytest.mark.parametrize(
    ("remote", "forwarded", "hops", "client"),
    [
        ("10.0.0.2", None, 0, "10.0.0.2"),
        ("10.0.0.2", "203.0.113.5", 0, "10.0.0.2"),  # no trusted proxy: the header is the client's own words
        ("10.0.0.2", "203.0.113.5", 1, "203.0.113.5"),
        ("10.0.0.2", "1.2.3.4, 203.0.113.5", 1, "203.0.113.5"),  # what the client wrote itself is never read
        ("10.0.0.2", "1.2.3.4,203.0.113.5, 10.0.0.9", 2, "203.0.113.5"),
        ("10.0.0.2", "203.0.113.5", 2, "10.0.0.2"),  # fewer entries than proxies: not through them
        ("10.0.0.2", "not-an-address", 1, "10.0.0.2"),
        ("10.0.0.2", "2001:db8::1", 1, "2001:db8::1"),
        (None, None, 0, "unknown"),
    ],
)
def test_the_client_is_the_address_the_outermost_trusted_proxy_saw(remote, forwarded, hops, client):
    assert client_address(remote, forwarded, hops) == client


def test_the_throttle_reads_its_rates_prefix_and_proxy_hops_from_the_environment():
    env = {"THROTTLE_LOGIN_PER_ADDRESS": "5/second;100/hour", "THROTTLE_REGISTER_PER_ACCOUNT": "2 per minute",
           "THROTTLE_KEY_PREFIX": "shop-a", "TRUSTED_PROXY_HOPS": "1"}  # fmt: skip
    settings = GatewaySettings.from_env(env=env)
    assert settings.throttle_login_per_address == "5/second;100/hour"
    assert settings.throttle_register_per_account == "2 per minute"
    assert settings.throttle_login_per_account == "10 per minute"  # the default
    assert settings.throttle_key_prefix == "shop-a"
    assert settings.trusted_proxy_hops == 1


def test_argon2_costs_from_the_environment_are_refused_in_production():
    from services.users.settings import UserSettings

    assert UserSettings.from_env(env={"ARGON2_TIME_COST": "1"}).argon2_time_cost == 1
    with pytest.raises(ConfigError, match="ARGON2_MEMORY_COST weakens password hashing"):
        UserSettings.from_env(
            env={
                "TIENDA_ENV": "production",
                "JWT_SECRET": secrets.token_urlsafe(32),
                "INTERNAL_TOKEN_KEY": secrets.token_urlsafe(32),
                "ARGON2_MEMORY_COST": "8",
            }
        )


def test_argon2_costs_given_as_config_are_refused_in_production_too():
    from services.users.settings import UserSettings

    production = UserSettings.from_env(
        env={
            "TIENDA_ENV": " production ",
            "JWT_SECRET": secrets.token_urlsafe(32),
            "INTERNAL_TOKEN_KEY": secrets.token_urlsafe(32),
        }
    )
    assert production.environment == "production" and production.argon2_options() == {}
    with pytest.raises(ConfigError, match="ARGON2_TIME_COST weakens password hashing"):
        production.with_overrides({"argon2_time_cost": 1})
