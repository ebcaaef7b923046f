"""The users service's settings: the common ones (:mod:`services.common.settings`) and its own.

``ADMIN_EMAIL`` ``ADMIN_PASSWORD``
    the first admin (named "Admin"), ensured at start; ``config`` keys ``admin_email`` / ``admin_password``
    replace them. The two come together or not at all. An existing admin is left alone; an existing ordinary
    account is promoted only if the password is its own.
``ARGON2_TIME_COST`` ``ARGON2_MEMORY_COST`` ``ARGON2_PARALLELISM`` (``config`` keys ``argon2_*``)
    cheaper password hashing for tests (memory in KiB); refused with ``TIENDA_ENV=production`` (the settings'
    ``environment``), from the environment or ``config`` alike: production keeps argon2-cffi's defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.common.settings import Settings
from telemetry import ConfigError

ARGON2_OPTIONS = ("argon2_time_cost", "argon2_memory_cost", "argon2_parallelism")


@dataclass(frozen=True, kw_only=True)
class UserSettings(Settings):
    SERVICE = "users"

    admin_email: str | None = None
    admin_password: str | None = None
    argon2_time_cost: int | None = None
    argon2_memory_cost: int | None = None
    argon2_parallelism: int | None = None

    @classmethod
    def read_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        found: dict[str, Any] = {
            "admin_email": env.get("ADMIN_EMAIL") or None,
            "admin_password": env.get("ADMIN_PASSWORD") or None,
        }
        for name in ARGON2_OPTIONS:
            raw = env.get(name.upper(), "").strip()
            if not raw:
                continue
            if not raw.isascii() or not raw.isdigit():
                raise ConfigError(f"{name.upper()}={raw!r} is not a positive integer")
            found[name] = int(raw)
        return found

    def __post_init__(self) -> None:
        weakened = list(self.argon2_options())
        if weakened and self.environment == "production":
            raise ConfigError(
                f"{weakened[0].upper()} weakens password hashing; it is refused with TIENDA_ENV=production"
            )

    def admin(self) -> tuple[str, str] | None:
        """(email, password) of the admin to ensure at start, or None when none is configured."""
        email, password = self.admin_email or "", self.admin_password or ""
        if not email and not password:
            return None
        if not email or not password:
            raise ConfigError("ADMIN_EMAIL and ADMIN_PASSWORD must be set together")
        return email.strip(), password

    def argon2_options(self) -> dict[str, int]:
        """The ``argon2_*`` settings that are set (checked by :meth:`Argon2Hasher.from_options`)."""
        return {name: value for name in ARGON2_OPTIONS if (value := getattr(self, name)) is not None}
