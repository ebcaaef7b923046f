"""The users service's business metrics.

``tienda_users_registered_total``    accounts created by registration
``tienda_logins_total{outcome}``     login attempts: success, failure

Both login series exist from the start at zero. The domain counts through its
:class:`~services.users.domain.UserEvents` port and never sees Prometheus.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from telemetry.metrics import counter_by

from .domain import UserEvents

#: Label values of ``tienda_logins_total{outcome}``.
LOGIN_OUTCOMES = SUCCESS, FAILURE = ("success", "failure")


class UserMetrics(UserEvents):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registered_total = Counter(
            "tienda_users_registered_total", "Accounts created by registration.", registry=registry
        )
        self.logins_total = counter_by(
            "tienda_logins_total", "Login attempts by outcome.", "outcome", LOGIN_OUTCOMES, registry
        )
        self._success = self.logins_total.labels(SUCCESS)
        self._failure = self.logins_total.labels(FAILURE)

    def registered(self) -> None:
        self.registered_total.inc()

    def login(self, succeeded: bool) -> None:
        (self._success if succeeded else self._failure).inc()
