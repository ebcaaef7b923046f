"""Argon2id password hashing (argon2-cffi), the implementation of the domain's ``PasswordHasher`` port.

Production uses argon2-cffi's defaults (RFC 9106 "low memory" profile). Tests make hashing cheap through
the ``argon2_*`` fields of :class:`~services.users.settings.UserSettings`::

    create_app({"argon2_time_cost": 1, "argon2_memory_cost": 8})

``argon2_parallelism`` may be given too; when it is not and ``argon2_memory_cost`` is set, parallelism
is lowered so that every lane keeps the 8 KiB argon2 requires.
"""

from __future__ import annotations

from collections.abc import Mapping

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from services.common.settings import positive_int
from telemetry import ConfigError

from .domain import PasswordHasher
from .settings import ARGON2_OPTIONS


class Argon2Hasher(PasswordHasher):
    def __init__(self, hasher: argon2.PasswordHasher | None = None) -> None:
        self._hasher = hasher or argon2.PasswordHasher()

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Argon2Hasher:
        """A hasher with argon2-cffi's defaults, replaced by any ``argon2_*`` entry of ``options``."""
        values: dict[str, int] = {}
        for key in ARGON2_OPTIONS:
            if key in options:
                values[key.removeprefix("argon2_")] = positive_int(key, options[key])
        if "memory_cost" in values and "parallelism" not in values:
            values["parallelism"] = max(1, min(argon2.DEFAULT_PARALLELISM, values["memory_cost"] // 8))
        if "memory_cost" in values and values["memory_cost"] < 8 * values["parallelism"]:
            raise ConfigError("argon2_memory_cost must be at least 8 KiB per lane (8 * argon2_parallelism)")
        default = argon2.PasswordHasher()
        return cls(
            argon2.PasswordHasher(
                time_cost=values.get("time_cost", default.time_cost),
                memory_cost=values.get("memory_cost", default.memory_cost),
                parallelism=values.get("parallelism", default.parallelism),
            )
        )

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
