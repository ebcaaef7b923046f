"""Which first admin the users service ensures at start: config overrides, then the environment."""

import pytest

from services.users.app import admin_credentials
from telemetry import ConfigError


def test_no_admin_is_configured_when_neither_overrides_nor_environment_name_one():
    assert admin_credentials({}, {}) is None


def test_the_environment_names_the_admin():
    env = {"ADMIN_EMAIL": " root@example.com ", "ADMIN_PASSWORD": " spaced password "}

    assert admin_credentials({}, env) == ("root@example.com", " spaced password ")


def test_config_overrides_win_over_the_environment():
    env = {"ADMIN_EMAIL": "env@example.com", "ADMIN_PASSWORD": "env password"}
    extra = {"admin_email": "cfg@example.com", "admin_password": "cfg password"}

    assert admin_credentials(extra, env) == ("cfg@example.com", "cfg password")


@pytest.mark.parametrize(
    ("extra", "env"),
    [
        ({}, {"ADMIN_EMAIL": "root@example.com"}),
        ({}, {"ADMIN_PASSWORD": "admin password"}),
        ({"admin_email": "root@example.com"}, {}),
        ({}, {"ADMIN_EMAIL": "root@example.com", "ADMIN_PASSWORD": ""}),
    ],
)
def test_an_email_without_a_password_or_the_reverse_is_a_config_error(extra, env):
    with pytest.raises(ConfigError, match="ADMIN_EMAIL and ADMIN_PASSWORD"):
        admin_credentials(extra, env)


def test_a_misspelt_override_is_a_configuration_error_naming_it():
    from services.users.settings import UserSettings

    with pytest.raises(ConfigError, match="no setting argon2_time"):
        UserSettings.from_env(env={}).with_overrides({"argon2_time": 1})
