"""With TIENDA_ENV=production no secret published in the repository, and none too short, is accepted.

The published values are collected by scanning the repository's files now (tests.support.published_secrets), so
a secret added to a test, a doc or .env tomorrow fails here until its fingerprint is in the refusal list.
"""

from __future__ import annotations

import secrets

import pytest

from services.common.settings import (
    MIN_SECRET_CHARS,
    PUBLISHED_SECRET_FINGERPRINTS,
    SECRET_MINIMUMS,
    Settings,
    fingerprint,
)
from telemetry import ConfigError
from tests.support.compose import read_dotenv
from tests.support.published_secrets import published_secrets

PUBLISHED = sorted(published_secrets())
LONG_ENOUGH = [value for value in PUBLISHED if len(value) >= MIN_SECRET_CHARS]
#: Made now, never written down: a value in this file would be published too.
OWN_SECRET = secrets.token_urlsafe(32)
OWN_INTERNAL_KEY = secrets.token_urlsafe(32)


def production(**env: str) -> dict[str, str]:
    return {"TIENDA_ENV": "production", "JWT_SECRET": OWN_SECRET, "INTERNAL_TOKEN_KEY": OWN_INTERNAL_KEY, **env}


def test_the_scan_finds_the_published_values_of_env_tests_and_the_development_fallback():
    dotenv = read_dotenv()
    assert dotenv["JWT_SECRET"] in PUBLISHED
    assert dotenv["ADMIN_PASSWORD"] in PUBLISHED
    assert dotenv["TIENDA_DB_PASSWORD"] in PUBLISHED
    assert "development-only-jwt-secret-do-not-deploy" in PUBLISHED
    assert "e2e-secret-" + "x" * 32 in PUBLISHED  # tests/support/shop.py, a constant expression


def test_every_published_value_long_enough_to_pass_the_length_check_has_its_fingerprint_in_the_refusal_list():
    missing = sorted(
        fingerprint(value) for value in LONG_ENOUGH if fingerprint(value) not in PUBLISHED_SECRET_FINGERPRINTS
    )
    assert not missing, (
        "run python -m tests.support.published_secrets, or add to PUBLISHED_SECRET_FINGERPRINTS:\n"
        + "\n".join(f'        "{fp}",' for fp in missing)
    )


@pytest.mark.parametrize("secret", [v for v in LONG_ENOUGH if len(v) >= SECRET_MINIMUMS["JWT_SECRET"]])
def test_production_refuses_a_published_jwt_secret_naming_the_variable(secret):
    with pytest.raises(ConfigError, match="JWT_SECRET is a value published in the tienda repository"):
        Settings.from_env("gateway", production(JWT_SECRET=secret))


@pytest.mark.parametrize("name", ["INTERNAL_TOKEN_KEY", "ADMIN_PASSWORD"])
@pytest.mark.parametrize("secret", LONG_ENOUGH)
def test_production_refuses_every_published_value_as_any_other_secret(name, secret):
    if len(secret) < SECRET_MINIMUMS[name]:
        match = f"{name} must be at least {SECRET_MINIMUMS[name]} characters"
    else:
        match = f"{name} is a value published in the tienda repository"
    with pytest.raises(ConfigError, match=match):
        Settings.from_env("users", production(**{name: secret}))


@pytest.mark.parametrize("name", ["DATABASE_URL", "AMQP_URL", "REDIS_URL"])
def test_production_refuses_a_url_carrying_a_published_password(name):
    password = read_dotenv()["TIENDA_DB_PASSWORD"]
    url = {"DATABASE_URL": "postgresql+psycopg://users:{}@db:5432/users", "AMQP_URL": "amqp://tienda:{}@mq:5672/%2F",
           "REDIS_URL": "redis://:{}@redis:6379/0"}[name].format(password)  # fmt: skip
    with pytest.raises(ConfigError, match=f"the password in {name} is a value published"):
        Settings.from_env("users", production(**{name: url}))


@pytest.mark.parametrize(
    ("name", "value"),
    [("JWT_SECRET", "x" * 31), ("INTERNAL_TOKEN_KEY", "k" * 31), ("ADMIN_PASSWORD", "short-but-8+")],
)
def test_production_refuses_a_secret_shorter_than_its_minimum_and_says_which(name, value):
    with pytest.raises(ConfigError, match=f"{name} must be at least {SECRET_MINIMUMS[name]} characters"):
        Settings.from_env("users", production(**{name: value}))


def test_production_refuses_a_short_password_inside_a_database_url():
    with pytest.raises(ConfigError, match=f"the password in DATABASE_URL must be at least {MIN_SECRET_CHARS}"):
        Settings.from_env("users", production(DATABASE_URL="postgresql+psycopg://users:hunter2@db/users"))


def test_production_accepts_secrets_of_its_own():
    env = production(
        INTERNAL_TOKEN_KEY=secrets.token_urlsafe(32),
        ADMIN_PASSWORD=secrets.token_urlsafe(16),
        DATABASE_URL=f"postgresql+psycopg://users:{secrets.token_urlsafe(16)}@db:5432/users",
        REDIS_URL="redis://redis:6379/0",
    )
    settings = Settings.from_env("users", env)
    assert settings.environment == "production"
    assert settings.jwt_secret == OWN_SECRET


def test_the_demo_and_test_environments_accept_the_published_demo_secrets():
    dotenv = read_dotenv()
    for environment in ("demo", "test"):
        env = {
            "TIENDA_ENV": environment,
            "JWT_SECRET": dotenv["JWT_SECRET"],
            "INTERNAL_TOKEN_KEY": dotenv["INTERNAL_TOKEN_KEY"],
            "ADMIN_PASSWORD": dotenv["ADMIN_PASSWORD"],
        }
        settings = Settings.from_env("users", env)
        assert (settings.jwt_secret, settings.internal_token_key) == (
            dotenv["JWT_SECRET"],
            dotenv["INTERNAL_TOKEN_KEY"],
        )


def test_compose_runs_as_the_demo_environment():
    assert read_dotenv()["TIENDA_ENV"] == "demo"
