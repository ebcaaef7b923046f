"""The shop scaled out on one machine: every stateless service twice, each pair behind a round-robin proxy.

    with replicated_shop(tmp_path, receiver) as shop:   # a Shop: shop.order(...) goes through the gateway proxy
        shop.services["gateway.1"].url                  # one replica, addressed directly
        shop.replicas("orders")                         # both replicas of orders
        shop.kill("orders.1")                           # one replica crashes (SIGKILL by PID); the other serves on

What runs, all on 127.0.0.1 and free ports:

* ``replicas`` gunicorns (default 2) of each service of the events shop (users, products, payments, orders,
  notifications, gateway), named ``<service>.<n>``, each its own process and port; the replicas of a service share
  its one database, a fresh PostgreSQL database per service and run (tests/support/databases.py);
* one nginx (Debian's; its main configuration is deploy/nginx/local.conf.template, its pid, temp files and error
  log go to the test's directory, and it is stopped by its PID) holding an upstream block per service that lists
  the replicas, and a server on that service's proxy port passing each request to the next replica in turn. The
  services are given the proxies as their ``*_URL``, so every call between services, as every call of a test made
  through ``shop.api``, may land on either replica;
* orders and payments publish their events to the local RabbitMQ under a private exchange, and both notifications
  replicas consume one private queue, competing for its messages (tests/support/broker.py);
* products' read cache and the gateway's throttle counters live in the local Redis under key prefixes of this run,
  so the replicas share them (and nothing else on the machine does); the keys are deleted at the end.

The catalog is read over HTTP (no ``PRODUCTS_GRPC_URL``), through products' proxy like every other call.
:func:`scaled_shop` adds the integrity audit of the fault tests (tests/support/chaos.py, reading through the proxies)
and a Prometheus scraping every replica as a target of its own. Nothing here is a stand-in: what a test proves on
this shop is what two replicas of the shipped services do.
"""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from services.stack import render_nginx, render_prometheus_config, start_nginx
from tests.support import broker
from tests.support.chaos import FaultShop, ShopAudit
from tests.support.databases import databases
from tests.support.monitoring import Prometheus, wait_for_targets_up
from tests.support.otlp import OtlpReceiver
from tests.support.procs import Service, free_port, free_ports, stop_together, wait_until_up
from tests.support.shop import EVENTS_SHOP, START_SECONDS, Shop, service_env

REPLICAS = 2
REDIS_URL = "redis://127.0.0.1:6379/0"
#: A replica that refused a connection is passed over for this long, then tried again (a restarted one gets its
#: share back soon). Upstream keep-alive connections are dropped before gunicorn's 5 s would close them under a
#: request nginx is sending.
UPSTREAM = """upstream {name} {{
{servers}
    keepalive 16;
    keepalive_timeout 4s;
}}

server {{
    listen 127.0.0.1:{port};
    access_log off;
    location / {{
        proxy_pass http://{name};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_connect_timeout 1s;
        # Above any wait of the services' own: the callers' timeouts and budgets decide, not the proxy.
        proxy_read_timeout 60s;
        proxy_send_timeout 60s;
    }}
}}
"""
SERVER = "    server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;"


class ReplicatedShop(Shop):
    """A :class:`Shop` whose ``services`` are the replicas (``orders.0``, ``orders.1``, ...) and whose ``entries``
    are the proxies: faults set on a service are set on each of its replicas."""

    def __init__(self, services: dict[str, Service], receiver: OtlpReceiver, databases: dict[str, str],
                 entries: dict[str, str], proxy: subprocess.Popen[bytes]) -> None:  # fmt: skip
        super().__init__(services, receiver, databases, entries)
        self.proxy = proxy

    def replicas(self, name: str) -> list[Service]:
        return [service for replica, service in self.services.items() if replica.rsplit(".", 1)[0] == name]

    def scrape_ports(self) -> dict[str, list[int]]:
        """Each service's replica ports, for ``services.stack.render_prometheus_config``: a target per replica."""
        return {name: [replica.port for replica in self.replicas(name)] for name in self.entries}


def proxy_config(replica_ports: dict[str, list[int]], proxy_ports: dict[str, int]) -> str:
    """nginx's upstreams and servers: one upstream per service over its replicas, served on its proxy port."""
    return "\n".join(
        UPSTREAM.format(name=name, port=proxy_ports[name], servers="\n".join(SERVER.format(port=p) for p in ports))
        for name, ports in replica_ports.items()
    )


@contextlib.contextmanager
def replicated_shop(
    tmp_path: Path,
    receiver: OtlpReceiver,
    *,
    replicas: int = REPLICAS,
    extra_env: dict[str, dict[str, str]] | None = None,
) -> Iterator[ReplicatedShop]:
    """The events shop on PostgreSQL, ``replicas`` processes per service behind one nginx (module docstring);
    ``extra_env`` adds variables per service (``{"orders": {...}}``), to every replica of it. The databases are made
    and every replica booted side by side."""
    names = EVENTS_SHOP
    ports = iter(free_ports(len(names) * (replicas + 1)))  # all distinct: nginx binds its ports first
    replica_ports = {name: [next(ports) for _ in range(replicas)] for name in names}
    proxy_ports = {name: next(ports) for name in names}
    entries = {name: f"http://127.0.0.1:{port}" for name, port in proxy_ports.items()}
    urls = {f"{name.upper()}_URL": url for name, url in entries.items()}
    prefix = f"test:replicas:{uuid.uuid4().hex}"
    started: dict[str, Service] = {}
    with broker.private_topology() as topology, databases("postgres", tmp_path, names) as database_urls:
        events = {"AMQP_URL": broker.AMQP_URL, "EVENTS_EXCHANGE": topology.exchange, "RELAY_INTERVAL_SECONDS": "0.2"}
        shared = {
            "orders": events,
            "payments": events,
            "notifications": {**events, "NOTIFY_QUEUE": topology.queue, "NOTIFY_RETRY_DELAY_SECONDS": "0.5"},
            "products": {"REDIS_URL": REDIS_URL, "PRODUCT_CACHE_KEY_PREFIX": f"{prefix}:products"},
            "gateway": {"REDIS_URL": REDIS_URL, "THROTTLE_KEY_PREFIX": f"{prefix}:throttle"},
        }
        proxy = start_nginx(render_nginx(tmp_path / "nginx", proxy_config(replica_ports, proxy_ports)),
                            tmp_path / "nginx.log")  # fmt: skip
        try:
            for name in names:
                extra = shared.get(name, {}) | (extra_env or {}).get(name, {})
                env = service_env(name, urls, database_urls[name], receiver, extra)
                for n, port in enumerate(replica_ports[name]):
                    replica = f"{name}.{n}"
                    started[replica] = Service(f"services.{name}.app:create_app()", env=env, port=port,
                                               log_path=tmp_path / f"{replica}.log", start_timeout=START_SECONDS,
                                               wait=False)  # fmt: skip
            for service in started.values():
                service.wait_until_ready()
            for url in entries.values():
                wait_until_up(url + "/health/live", proc=proxy)
            yield ReplicatedShop(started, receiver, database_urls, entries, proxy)
        finally:
            stop_together(reversed(started.values()))
            proxy.terminate()
            proxy.wait(15)
            _delete_keys(prefix)


@dataclass
class ScaledShop:
    """A :func:`replicated_shop`, its integrity audit (read through the proxies), and a Prometheus scraping every
    replica as a target of its own (prometheus/prometheus.yml rendered for the replicas' ports)."""

    shop: ReplicatedShop
    audit: ShopAudit
    prometheus: Prometheus

    def fault_shop(self) -> FaultShop:
        """The shop as the chaos soak takes it, with a customer of its own."""
        return FaultShop("postgres", self.shop, self.audit, self.shop.register("Fay")[1])


@contextlib.contextmanager
def scaled_shop(
    tmp_path: Path, receiver: OtlpReceiver, extra_env: dict[str, dict[str, str]] | None = None
) -> Iterator[ScaledShop]:
    """:func:`replicated_shop` with its audit and its Prometheus, once Prometheus has scraped every replica."""
    with replicated_shop(tmp_path, receiver, extra_env=extra_env) as shop:
        audit = ShopAudit(shop)
        port = free_port()
        config = render_prometheus_config(tmp_path / "prometheus", {**shop.scrape_ports(), "prometheus": port})
        prometheus = Prometheus(config, port, tmp_path / "prometheus" / "data", tmp_path / "prometheus.log")
        try:
            prometheus.wait_ready()
            wait_for_targets_up(prometheus, expected=sum(map(len, shop.scrape_ports().values())) + 1)  # and itself
            yield ScaledShop(shop, audit, prometheus)
        finally:
            prometheus.stop()
            audit.close()


def _delete_keys(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
