"""The argon2 adapter of the password-hasher port, with cheap parameters."""

import argon2
import pytest

from services.users.passwords import Argon2Hasher
from telemetry import ConfigError

CHEAP = {"argon2_time_cost": 1, "argon2_memory_cost": 8}


def test_a_hash_is_argon2id_verifies_the_right_password_and_not_a_wrong_one():
    hasher = Argon2Hasher.from_options(CHEAP)

    hashed = hasher.hash("correct horse")

    assert hashed.startswith("$argon2id$") and "correct horse" not in hashed
    assert hasher.verify(hashed, "correct horse") is True
    assert hasher.verify(hashed, "correct horsE") is False


def test_an_unreadable_hash_never_verifies_and_needs_a_rehash():
    hasher = Argon2Hasher.from_options(CHEAP)

    assert hasher.verify("not a hash", "anything") is False
    assert hasher.needs_rehash("not a hash") is True


def test_a_hash_made_with_other_parameters_needs_a_rehash_and_one_made_with_these_does_not():
    cheap = Argon2Hasher.from_options(CHEAP)
    other = Argon2Hasher.from_options({**CHEAP, "argon2_time_cost": 2})

    assert cheap.needs_rehash(other.hash("correct horse")) is True
    assert cheap.needs_rehash(cheap.hash("correct horse")) is False


def test_cheap_memory_lowers_parallelism_so_every_lane_keeps_8_kib():
    hashed = Argon2Hasher.from_options(CHEAP).hash("correct horse")

    assert "$m=8,t=1,p=1$" in hashed


def test_without_options_the_hasher_uses_argon2_cffi_defaults():
    defaults = argon2.PasswordHasher()

    hasher = Argon2Hasher.from_options({})

    assert hasher.needs_rehash(defaults.hash("correct horse")) is False


@pytest.mark.parametrize(
    "options",
    [
        {"argon2_time_cost": 0},
        {"argon2_time_cost": "1"},
        {"argon2_memory_cost": True},
        {"argon2_memory_cost": 8, "argon2_parallelism": 2},
    ],
)
def test_malformed_argon2_options_are_a_config_error_naming_the_option(options):
    with pytest.raises(ConfigError, match="argon2_"):
        Argon2Hasher.from_options(options)
