"""The notifications service (:8005): ``create_app()`` wires settings, telemetry, database, routes and the consumer.

    gunicorn -c gunicorn.conf.py -b 127.0.0.1:8005 'services.notifications.app:create_app()'

Configuration is :class:`~services.notifications.settings.NotificationSettings` with ``config`` laid over it.
With ``AMQP_URL`` set, the consumer (:mod:`services.notifications.consumer`) runs in a background loop,
``Wiring.loops[0]``, and the readiness check ``broker`` reports ``degraded`` while it cannot consume.
Nothing connects at import time; the broker is reached from the loop, never from ``create_app``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

import telemetry
from services.common import access
from services.common.auth import InternalTokens
from services.common.periodic import Periodic
from services.common.web import Wiring, attach_database, service_app, wire

from . import api
from .consumer import Consumer
from .domain import NotificationService
from .metrics import NotificationMetrics
from .settings import NotificationSettings
from .store import SqlNotificationRepository

MIGRATIONS = Path(__file__).parent / "migrations"
#: How long one turn of the consumer loop waits for messages before measuring the queues again.
CONSUME_TURN_SECONDS = 1.0


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app, tel, settings = service_app(__name__, NotificationSettings, config)
    metrics = NotificationMetrics(tel.metrics.registry)
    db = attach_database(app, tel, settings, MIGRATIONS)
    service = NotificationService(SqlNotificationRepository(db), metrics)
    app.register_blueprint(api.blueprint(service))
    api.openapi().install(app)
    access.install(app, InternalTokens(settings.internal_token_key, settings.service).verify, tel.metrics.registry)

    loops: tuple[Periodic, ...] = ()
    if settings.amqp_url:
        consumer = Consumer(
            settings.amqp_url,
            service,
            metrics,
            tel.tracer,
            exchange=settings.events_exchange,
            queue=settings.notify_queue,
            max_attempts=settings.notify_max_attempts,
            retry_delay_seconds=settings.notify_retry_delay_seconds,
        )
        telemetry.health.register("broker", consumer.check, app=app)
        turn = Periodic(
            "notifications-consumer", lambda: consumer.consume_for(CONSUME_TURN_SECONDS), 0, cleanup=consumer.close
        )
        loops = (turn.start(),)
    else:
        telemetry.health.register("broker", _no_broker, app=app)
    wire(app, Wiring(settings=settings, telemetry=tel, database=db, service=service, metrics=metrics, loops=loops))
    return app


def _no_broker() -> None:
    raise telemetry.health.Degraded("no broker configured (AMQP_URL): nothing is consumed")
