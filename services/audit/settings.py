"""The audit's settings: the common ones (:mod:`services.common.settings`) and its own.

``AUDIT_INTERVAL_SECONDS``   how often the audit service runs the audit (default 30; 0: only on request)
``SETTLE_BOUND_SECONDS``     how long an order may stay unfinished after it was placed (default 60): the bound
                             of docs/architecture.md, shared with orders
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.common.settings import Settings, seconds

from .domain import StateSource


def _env_seconds(env: Mapping[str, str], name: str) -> dict[str, float]:
    raw = env.get(name, "").strip()
    if not raw:
        return {}
    try:
        value = float(raw)
    except ValueError:
        value = raw  # type: ignore[assignment]  # seconds() names the variable and the bad value
    return {name.lower(): seconds(name, value, zero=name == "AUDIT_INTERVAL_SECONDS")}


@dataclass(frozen=True, kw_only=True)
class AuditSettings(Settings):
    SERVICE = "audit"

    audit_interval_seconds: float = 30.0
    settle_bound_seconds: float = 60.0
    #: Where the audit reads the services' state (tests pass a fake); default: their internal HTTP APIs.
    source: StateSource | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "audit_interval_seconds", seconds("audit_interval_seconds", self.audit_interval_seconds, zero=True)
        )
        object.__setattr__(self, "settle_bound_seconds", seconds("settle_bound_seconds", self.settle_bound_seconds))

    @classmethod
    def read_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        return {**_env_seconds(env, "AUDIT_INTERVAL_SECONDS"), **_env_seconds(env, "SETTLE_BOUND_SECONDS")}
