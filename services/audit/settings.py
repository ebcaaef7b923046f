"""The audit's settings: the common ones (:mod:`services.common.settings`) and its own.

``AUDIT_INTERVAL_SECONDS``   how often the audit service runs the audit (default 30; 0: only on request)
``SETTLE_BOUND_SECONDS``     how long an order may stay unfinished after it was placed (a cancel: after it was
                             asked for) before the audit counts it as ``order_finished_within_bound`` (default
                             60); the audit's own setting, which no other service reads

Each read asks for pages of the contract's default size (``services.common.contract.DEFAULT_AUDIT_PAGE_SIZE``);
tests pass a smaller ``audit_page_size``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.common.contract import DEFAULT_AUDIT_PAGE_SIZE, MAX_AUDIT_PAGE_SIZE
from services.common.settings import Settings, env_seconds, positive_int, seconds
from telemetry import ConfigError

from .domain import StateSource


@dataclass(frozen=True, kw_only=True)
class AuditSettings(Settings):
    SERVICE = "audit"

    audit_interval_seconds: float = 30.0
    settle_bound_seconds: float = 60.0
    audit_page_size: int = DEFAULT_AUDIT_PAGE_SIZE
    #: Where the audit reads the services' state (tests pass a fake); default: their internal HTTP APIs.
    source: StateSource | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "audit_interval_seconds", seconds("audit_interval_seconds", self.audit_interval_seconds, zero=True)
        )
        object.__setattr__(self, "settle_bound_seconds", seconds("settle_bound_seconds", self.settle_bound_seconds))
        if positive_int("audit_page_size", self.audit_page_size) > MAX_AUDIT_PAGE_SIZE:
            raise ConfigError(f"audit_page_size={self.audit_page_size} is above {MAX_AUDIT_PAGE_SIZE}")
        if self.source is not None and not isinstance(self.source, StateSource):
            raise ConfigError("source must be a services.audit.domain.StateSource")

    @classmethod
    def read_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        return {**env_seconds(env, "AUDIT_INTERVAL_SECONDS", zero=True), **env_seconds(env, "SETTLE_BOUND_SECONDS")}
