"""The products service application: ``gunicorn -c gunicorn.conf.py 'services.products.app:create_app()'``.

Configuration is :class:`~services.products.settings.ProductSettings` (``DATABASE_URL``, ...) with ``config``
laid over it; every key of ``config`` must be one of its fields (``seed_catalog``, ``tracer_provider``, ...).
With ``REDIS_URL`` set, product reads go through the Redis cache of :mod:`services.products.cache`.
What was wired is a :class:`services.common.web.Wiring` at ``app.extensions["tienda"]``; the sweeper that releases
reservations held past their TTL, when it runs, is its ``loops[0]``. Nothing connects at import time.

With ``grpc_port`` set (``PRODUCTS_GRPC_PORT``) the app also serves its catalog over gRPC from this process
(:mod:`services.products.grpc_server`); the wiring's ``grpc_server`` is then the server and the port it bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from services.common import access
from services.common.auth import InternalTokens
from services.common.periodic import start_every
from services.common.web import Wiring, attach_database, service_app, wire

from . import api, grpc_server
from .cache import RedisProductCache
from .catalog import DEMO_CATALOG
from .domain import NoCache, ProductCache, ProductService
from .metrics import ProductMetrics
from .settings import ProductSettings
from .store import SqlProductRepository

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app, tel, settings = service_app(__name__, ProductSettings, config)
    metrics = ProductMetrics(tel.metrics.registry, cache=bool(settings.redis_url))
    db = attach_database(app, tel, settings, MIGRATIONS)

    cache: ProductCache = NoCache()
    if settings.redis_url:
        cache = RedisProductCache.connect(
            settings.redis_url,
            settings.product_cache_ttl_seconds,
            metrics.cache_lookup,
            tel.tracer_provider,
            settings.product_cache_key_prefix,
        )
    service = ProductService(SqlProductRepository(db, on_change=cache.invalidate), events=metrics, cache=cache)
    if settings.seed_catalog:
        service.seed_catalog(DEMO_CATALOG)

    app.register_blueprint(api.blueprint(service))
    api.openapi().install(app)
    ttl, every = settings.reservation_ttl_seconds, settings.reservation_sweep_interval_seconds
    loops = start_every("products-reservation-ttl", lambda: service.expire_held(ttl), every)
    verify = InternalTokens(settings.internal_token_key, settings.service).verify
    access.install(app, verify, tel.metrics.registry)
    port = settings.grpc_port
    rpc = None if port is None else grpc_server.start(service, tel, port, settings.grpc_host, verify=verify)
    wiring = Wiring(
        settings=settings, telemetry=tel, database=db, service=service, metrics=metrics, loops=loops, grpc_server=rpc
    )
    wire(app, wiring)
    return app
