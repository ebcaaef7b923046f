"""Product reads through Redis (cache-aside) when ``REDIS_URL`` is set; straight from the database otherwise.

``GET /products/{id}`` and ``GET /products`` look in Redis first; on a miss they read the database and store the
answer for ``PRODUCT_CACHE_TTL_SECONDS``. Every write and stock change (create, update, delete, restock,
reservation, release, return, the TTL sweep) deletes the keys of the products it touched and every cached page
once its transaction has committed (:class:`services.products.store.SqlProductRepository` reports them): a reader that
raced the write and stored an older answer keeps it at most the TTL, so the stock customers see lags by at most
the TTL. Reservations never read the cache: they take stock with a conditional update in the database.

Redis down is slower, never failing: every Redis call has short socket timeouts, and an error is counted
(``tienda_cache_requests_total{result="error"}``) and answered from the database. While Redis fails, the cache
waits ``RETRY_SECONDS`` before trying it again, so a dead Redis costs one timeout now and then instead of one
per read. An invalidation that fails leaves the keys to their TTL.

Spans: every Redis command is a CLIENT span (opentelemetry-instrumentation-redis) in the request's trace.

Keys (under ``PRODUCT_CACHE_KEY_PREFIX``, default in :mod:`services.products.settings`, so that shops sharing a
Redis keep apart): ``<prefix>:product:<id>`` and ``<prefix>:page:<limit>:<offset>``; the set ``<prefix>:pages``
lists the cached pages, so that a change can delete them all.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict
from time import monotonic
from typing import Any

import redis
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.trace import TracerProvider

from .domain import Product, ProductCache

log = logging.getLogger("services.products")

#: What a read found in Redis (``on_lookup`` is told one per read): error means Redis failed, read the database.
RESULTS = ("hit", "miss", "error")
#: Short enough that a Redis that stopped answering costs a read little; long enough for a local Redis.
SOCKET_TIMEOUT_SECONDS = 0.1
#: How long the cache leaves Redis alone after an error.
RETRY_SECONDS = 2.0


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class RedisProductCache(ProductCache):
    """Cache-aside over ``client`` for ``ttl_seconds``; tells ``on_lookup`` each read's result (:data:`RESULTS`),
    which :meth:`services.products.metrics.ProductMetrics.cache_lookup` counts (``tienda_cache_requests_total``)."""

    def __init__(self, client: redis.Redis, ttl_seconds: float, on_lookup: Callable[[str], None], prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.pages = f"{prefix}:pages"
        self.ttl_ms = max(1, int(ttl_seconds * 1000))
        self._on_lookup = on_lookup
        self._lock = threading.Lock()
        self._resting_until = 0.0

    @classmethod
    def connect(
        cls,
        url: str,
        ttl_seconds: float,
        on_lookup: Callable[[str], None],
        tracer_provider: TracerProvider | None,
        prefix: str,
    ) -> RedisProductCache:
        """A cache on the Redis at ``url`` (nothing is sent until the first read)."""
        client = redis.Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
            retry_on_timeout=False,
            health_check_interval=0,
        )
        RedisInstrumentor().instrument_client(client, tracer_provider=tracer_provider)
        return cls(client, ttl_seconds, on_lookup, prefix)

    def product_key(self, product_id: int) -> str:
        return f"{self.prefix}:product:{product_id}"

    def page_key(self, limit: int, offset: int) -> str:
        return f"{self.prefix}:page:{limit}:{offset}"

    def product(self, product_id: int, load: Callable[[], Product | None]) -> Product | None:
        key = self.product_key(product_id)
        cached = self._get(key)
        if cached is not None:
            return Product(**json.loads(cached))
        found = load()
        if found is not None:
            self._set(key, _dumps(asdict(found)))
        return found

    def page(self, limit: int, offset: int, load: Callable[[], tuple[list[Product], int]]) -> tuple[list[Product], int]:
        key = self.page_key(limit, offset)
        cached = self._get(key)
        if cached is not None:
            body: dict[str, Any] = json.loads(cached)
            return [Product(**item) for item in body["items"]], int(body["total"])
        products, total = load()
        self._set(key, _dumps({"items": [asdict(p) for p in products], "total": total}), page=True)
        return products, total

    def invalidate(self, product_ids: Iterable[int]) -> None:
        if not self._awake():
            return
        try:
            pages = self.client.smembers(self.pages)
            keys = [self.product_key(i) for i in product_ids] + [k.decode() for k in pages]  # type: ignore[union-attr]
            self.client.delete(*keys, self.pages)
        except redis.RedisError as exc:
            self._failed("invalidate", exc)

    def _get(self, key: str) -> bytes | None:
        if not self._awake():
            self._on_lookup("error")
            return None
        try:
            found: bytes | None = self.client.get(key)  # type: ignore[assignment]
        except redis.RedisError as exc:
            self._on_lookup("error")
            self._failed("get", exc)
            return None
        self._on_lookup("miss" if found is None else "hit")
        return found

    def _set(self, key: str, value: bytes, *, page: bool = False) -> None:
        if not self._awake():
            return
        try:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.set(key, value, px=self.ttl_ms)
                if page:
                    pipe.sadd(self.pages, key)
                    pipe.pexpire(self.pages, self.ttl_ms)
                pipe.execute()
        except redis.RedisError as exc:
            self._failed("set", exc)

    def _awake(self) -> bool:
        with self._lock:
            return monotonic() >= self._resting_until

    def _failed(self, operation: str, exc: redis.RedisError) -> None:
        with self._lock:
            first = monotonic() >= self._resting_until
            self._resting_until = monotonic() + RETRY_SECONDS
        if first:
            log.warning(
                "redis cache unavailable; reading the database",
                extra={"event": "cache.unavailable", "operation": operation, "error_type": type(exc).__name__},
            )
