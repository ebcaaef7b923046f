"""The audit's settings: the common ones (:mod:`services.common.settings`) and its own.

``AUDIT_INTERVAL_SECONDS``   how often the audit service runs the audit (default 30; 0: only on request)
``SETTLE_BOUND_SECONDS``     how long an order may stay unfinished after it was placed (default 60): the bound
                             of docs/architecture.md, shared with orders
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.common.settings import Settings, env_seconds, seconds

from .domain import StateSource


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
        return {**env_seconds(env, "AUDIT_INTERVAL_SECONDS", zero=True), **env_seconds(env, "SETTLE_BOUND_SECONDS")}
