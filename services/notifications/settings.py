"""The notifications service's settings: the common ones (:mod:`services.common.settings`) and its own.

``AMQP_URL`` (common)
    the broker to consume from; without it the service serves what it recorded and consumes nothing
    (readiness says ``degraded``).
``EVENTS_EXCHANGE`` (default ``tienda.events``) ``NOTIFY_QUEUE`` (default ``notifications.events``)
    the exchange the relays publish to and the queue this service consumes (its ``.retry`` and ``.dead``
    queues are named after it).
``NOTIFY_MAX_ATTEMPTS`` (default 5)
    tries of a failing message before it goes to the dead-letter queue.
``NOTIFY_RETRY_DELAY_SECONDS`` (default 2)
    how long a failed message waits in the retry queue before its next try.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.common.events import EXCHANGE
from services.common.settings import Settings, broker_name, env_seconds, positive_int, seconds
from telemetry import ConfigError


@dataclass(frozen=True, kw_only=True)
class NotificationSettings(Settings):
    SERVICE = "notifications"

    events_exchange: str = EXCHANGE
    notify_queue: str = "notifications.events"
    notify_max_attempts: int = 5
    notify_retry_delay_seconds: float = 2.0

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "notify_retry_delay_seconds", seconds("notify_retry_delay_seconds", self.notify_retry_delay_seconds)
        )
        positive_int("notify_max_attempts", self.notify_max_attempts)
        for name in ("events_exchange", "notify_queue"):
            broker_name(name, getattr(self, name))

    @classmethod
    def read_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        found: dict[str, Any] = {**env_seconds(env, "NOTIFY_RETRY_DELAY_SECONDS")}
        for name in ("EVENTS_EXCHANGE", "NOTIFY_QUEUE"):
            if env.get(name, "").strip():
                found[name.lower()] = env[name].strip()
        attempts = env.get("NOTIFY_MAX_ATTEMPTS", "").strip()
        if attempts:
            if not (attempts.isascii() and attempts.isdigit()):
                raise ConfigError(f"NOTIFY_MAX_ATTEMPTS={attempts!r} is not a positive integer")
            found["notify_max_attempts"] = int(attempts)
        return found
