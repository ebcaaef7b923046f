"""INTERNAL_TOKEN_KEY: read by every service, with JWT_SECRET's rules, and never JWT_SECRET itself."""

from __future__ import annotations

import pytest

from services.common.settings import DEVELOPMENT_INTERNAL_TOKEN_KEY, Settings
from telemetry import ConfigError

JWT = "a-jwt-secret-of-the-test-" + "j" * 16
KEY = "an-internal-key-of-the-test-" + "i" * 16


def test_development_falls_back_to_the_development_key():
    assert Settings.from_env("orders", {}).internal_token_key == DEVELOPMENT_INTERNAL_TOKEN_KEY


def test_the_key_is_read_from_the_environment():
    settings = Settings.from_env("orders", {"TIENDA_ENV": "test", "JWT_SECRET": JWT, "INTERNAL_TOKEN_KEY": KEY})
    assert settings.internal_token_key == KEY
    assert KEY not in repr(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TIENDA_ENV": "test", "JWT_SECRET": JWT}, "INTERNAL_TOKEN_KEY is required outside development"),
        ({"TIENDA_ENV": "test", "JWT_SECRET": JWT, "INTERNAL_TOKEN_KEY": "k" * 31}, "at least 32 characters"),
        (
            {"TIENDA_ENV": "test", "JWT_SECRET": JWT, "INTERNAL_TOKEN_KEY": DEVELOPMENT_INTERNAL_TOKEN_KEY},
            "INTERNAL_TOKEN_KEY is the development fallback",
        ),
        ({"TIENDA_ENV": "test", "JWT_SECRET": JWT, "INTERNAL_TOKEN_KEY": JWT}, "must differ from JWT_SECRET"),
        ({"JWT_SECRET": KEY, "INTERNAL_TOKEN_KEY": KEY}, "must differ from JWT_SECRET"),
    ],
    ids=["missing", "short", "development-fallback", "same-as-jwt-secret", "same-in-development"],
)
def test_a_missing_short_fallback_or_shared_key_stops_the_service_naming_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env("orders", env)
