"""Argon2id password hashing (argon2-cffi), the implementation of the domain's ``PasswordHasher`` port.

Production uses argon2-cffi's defaults (RFC 9106 "low memory" profile). Tests make hashing cheap through
config overrides, which arrive in ``Settings.extra``::

    create_app({"argon2_time_cost": 1, "argon2_memory_cost": 8})

``argon2_parallelism`` may be given too; when it is not and ``argon2_memory_cost`` is set, parallelism
is lowered so that every lane keeps the 8 KiB argon2 requires.
"""

from __future__ import annotations

from collections.abc import Mapping

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from telemetry import ConfigError

from .domain import PasswordHasher

_OPTIONS = ("argon2_time_cost", "argon2_memory_cost", "argon2_parallelism")


class Argon2Hasher(PasswordHasher):
    def __init__(self, hasher: argon2.PasswordHasher | None = None) -> None:
        self._hasher = hasher or argon2.PasswordHasher()

    @classmethod
    def from_options(cls, options: Mapping) -> Argon2Hasher:
        """A hasher with argon2-cffi's defaults, replaced by any ``argon2_*`` entry of ``options``."""
        values: dict[str, int] = {}
        for key in _OPTIONS:
            if key in options:
                value = options[key]
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ConfigError(f"{key}={value!r} is not a positive integer")
                values[key.removeprefix("argon2_")] = value
        if "memory_cost" in values and "parallelism" not in values:
            values["parallelism"] = max(1, min(argon2.PasswordHasher().parallelism, values["memory_cost"] // 8))
        if "memory_cost" in values and values["memory_cost"] < 8 * values["parallelism"]:
            raise ConfigError("argon2_memory_cost must be at least 8 KiB per lane (8 * argon2_parallelism)")
        return cls(argon2.PasswordHasher(**values))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
