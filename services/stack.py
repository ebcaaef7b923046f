"""Run the whole shop locally under gunicorn: ``python -m services.stack`` (what ``make up`` calls).

Starts the six services and the integrity audit on their ports (docs/architecture.md) with SQLite databases
under ``var/`` (the products service seeds the demo catalog on first start, the users service creates the
development admin; the audit reads orders, payments and products every ``AUDIT_INTERVAL_SECONDS``), starts
the front proxy (Debian's nginx, deploy/nginx/) on :8000 in front of the gateway as the public entry, starts
Prometheus on :9090 when it is installed, prints the URLs, and stops everything on Ctrl-C or SIGTERM.
A second copy refuses to start while the first is running, naming the busy ports.

Events (docs/architecture.md): orders and payments publish through RabbitMQ at ``AMQP_URL`` when it is set;
otherwise the RabbitMQ on 127.0.0.1:5672 (guest) when one answers there. It prints which. With no broker the
shop runs all the same, and the events wait in the outboxes of orders and payments until one is given.

Any environment variable set when calling it (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``LOG_LEVEL``,
``DATABASE_URL`` is per service so it is not passed through) reaches every service.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pika
import pika.exceptions
import requests
import yaml

from services.common.settings import PORTS

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int

    @property
    def app(self) -> str:
        return f"services.{self.name}.app:create_app()"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


#: Start order: upstreams first, then the audit that reads three of them, the gateway last.
SERVICES = tuple(
    ServiceSpec(name, PORTS[name])
    for name in ("users", "products", "payments", "orders", "audit", "notifications", "gateway")
)
#: products' gRPC port (docs/architecture.md); the gateway reads the catalog over it.
PRODUCTS_GRPC_PORT = 50051
PROMETHEUS_PORT = 9090
#: The public entry: nginx in front of the gateway (deploy/nginx/, docs/security.md).
FRONT_PORT = 8000
FRONT_TEMPLATES = ROOT / "deploy" / "nginx"
DEV_ADMIN = {"ADMIN_EMAIL": "admin@tienda.local", "ADMIN_PASSWORD": "admin-password"}
#: The broker ``make up`` tries when ``AMQP_URL`` is not set.
LOCAL_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers 200, the process dies, or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=0.5).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)  # polling interval
    raise RuntimeError(f"{url} not ready after {timeout}s")


def broker_answers(url: str, timeout_seconds: float = 1.0) -> bool:
    """Whether a RabbitMQ at ``url`` accepts a connection (and its credentials)."""
    parameters = pika.URLParameters(url)
    parameters.connection_attempts = 1
    parameters.socket_timeout = parameters.stack_timeout = parameters.blocked_connection_timeout = timeout_seconds
    try:
        pika.BlockingConnection(parameters).close()
    except (pika.exceptions.AMQPError, OSError):
        return False
    return True


def choose_broker(env: dict[str, str]) -> tuple[str | None, str]:
    """The ``AMQP_URL`` the services get (None: none) and the line saying so: the caller's ``AMQP_URL`` when set,
    else :data:`LOCAL_AMQP_URL` when a broker answers there."""
    given = env.get("AMQP_URL", "").strip()
    if given:
        where = pika.URLParameters(given)
        return given, f"events      RabbitMQ at {where.host}:{where.port} (AMQP_URL)"
    if broker_answers(LOCAL_AMQP_URL):
        return LOCAL_AMQP_URL, "events      RabbitMQ at 127.0.0.1:5672 (found there, guest; AMQP_URL was not set)"
    return None, (
        "events      no broker (AMQP_URL not set, nothing on 127.0.0.1:5672): events wait in the outbox of orders "
        "and payments, and notifications records nothing"
    )


#: glibc gives each thread that allocates its own malloc arena (up to 8 per core), and each arena keeps the
#: high-water mark of what its thread once held: a worker's 8 request threads then hold 8 peaks. Two arenas,
#: shared by the threads, keep a worker's resident set near what it uses (docs/benchmarks.md, Memory). The
#: Dockerfile sets the same for compose and Kubernetes.
MALLOC_ARENA_MAX = "2"


def service_env(spec: ServiceSpec, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of one service: the caller's, plus where everything is."""
    env = dict(os.environ if base is None else base)
    env.pop("DATABASE_URL", None)  # each service owns its database; never share one by accident
    env.update({"OTEL_SERVICE_NAME": spec.name, "PYTHONUNBUFFERED": "1"})
    env.setdefault("MALLOC_ARENA_MAX", MALLOC_ARENA_MAX)
    for other in SERVICES:
        env.setdefault(f"{other.name.upper()}_URL", other.url)
    if spec.name == "products":
        env.setdefault("PRODUCTS_GRPC_PORT", str(PRODUCTS_GRPC_PORT))
    if spec.name == "gateway":
        env.setdefault("TRUSTED_PROXY_HOPS", "1")  # the front proxy
        env.setdefault("PRODUCTS_GRPC_URL", f"grpc://127.0.0.1:{PRODUCTS_GRPC_PORT}")
    if spec.name == "users" and env.get("TIENDA_ENV", "development") == "development":
        for key, value in DEV_ADMIN.items():
            env.setdefault(key, value)
    return env


def start_service(spec: ServiceSpec, logs: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "-b", f"127.0.0.1:{spec.port}",
           spec.app]  # fmt: skip
    log = open(logs / f"{spec.name}.log", "ab")
    return subprocess.Popen(cmd, cwd=ROOT, env=service_env(spec), stdout=log, stderr=subprocess.STDOUT)


def render_prometheus_config(directory: Path, ports: Mapping[str, int | Sequence[int]] | None = None) -> Path:
    """Write prometheus/prometheus.yml for this machine into ``directory``; returns the written file.

    ``ports`` maps compose hostnames (``gateway``, ..., ``prometheus``) to local ports, by default the
    docs/architecture.md ones. A target whose host is in ``ports`` becomes ``127.0.0.1:<port>`` (a host given
    several ports, its replicas, becomes one target each, told apart by their ``instance``); any other target
    (e.g. ``rabbitmq``, which only runs in compose) is dropped, and so is a job left without targets.
    ``rule_files`` become absolute paths to the repository's rules.
    """
    config = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    if ports is None:
        ports = {**{s.name: s.port for s in SERVICES}, "prometheus": PROMETHEUS_PORT}
    jobs = []
    for job in config.get("scrape_configs", []):
        groups = []
        for group in job.get("static_configs", []):
            hosts = [target.rsplit(":", 1)[0] for target in group["targets"]]
            targets = [f"127.0.0.1:{port}" for host in hosts if host in ports for port in _each(ports[host])]
            if targets:
                groups.append({**group, "targets": targets})
        if groups:
            jobs.append({**job, "static_configs": groups})
    config["scrape_configs"] = jobs
    config["rule_files"] = [str(ROOT / "prometheus" / pattern) for pattern in config.get("rule_files", [])]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _each(ports: int | Sequence[int]) -> Sequence[int]:
    return [ports] if isinstance(ports, int) else ports


def start_prometheus(logs: Path) -> subprocess.Popen[bytes] | None:
    binary = shutil.which("prometheus")
    if binary is None or port_in_use(PROMETHEUS_PORT):
        return None
    pdir = VAR / "prometheus"
    config = render_prometheus_config(pdir)
    log = open(logs / "prometheus.log", "ab")
    return subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={pdir / 'data'}",
         f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}", "--enable-feature=exemplar-storage"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _fill(template: Path, values: dict[str, str]) -> str:
    """``template`` with its ``${TIENDA_...}`` names replaced (nginx's own ``$variables`` are left alone)."""
    return re.sub(r"\$\{(TIENDA_[A-Z_]+)\}", lambda m: values[m[1]], template.read_text())


def render_front_proxy(directory: Path, listen: str, gateway: str) -> Path:
    """Write nginx's configuration for a front proxy on ``listen`` (host:port) in front of ``gateway`` (host:port)
    into ``directory``, which holds everything nginx writes too; returns the main configuration file."""
    directory.mkdir(parents=True, exist_ok=True)
    values = {"TIENDA_FRONT_LISTEN": listen, "TIENDA_GATEWAY": gateway, "TIENDA_FRONT_DIR": str(directory)}
    return render_nginx(directory, _fill(FRONT_TEMPLATES / "tienda.conf.template", values))


def render_nginx(directory: Path, servers: str) -> Path:
    """Write nginx's main configuration (local.conf.template: one worker, everything it writes under
    ``directory``) including ``servers``, the ``http`` block's upstreams and servers; returns the main file."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tienda.conf").write_text(servers)
    main = directory / "nginx.conf"
    main.write_text(_fill(FRONT_TEMPLATES / "local.conf.template", {"TIENDA_FRONT_DIR": str(directory)}))
    return main


def nginx_binary() -> str:
    """Debian's nginx (``make up`` and ``make test`` install it when missing)."""
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found is None:
        raise RuntimeError("nginx is needed for the public entry: apt-get install -y nginx (make up does it)")
    return found


def start_front_proxy(directory: Path, listen: str, gateway: str, log: Path) -> subprocess.Popen[bytes]:
    """nginx in the foreground with the configuration of :func:`render_front_proxy`; stop it by its pid."""
    return start_nginx(render_front_proxy(directory, listen, gateway), log)


def start_nginx(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """nginx in the foreground with ``config`` (from :func:`render_nginx`; its directory holds what nginx writes)."""
    directory = config.parent
    out = open(log, "ab")
    command = [nginx_binary(), "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(config)]
    return subprocess.Popen(command, stdout=out, stderr=out)


def main() -> int:
    busy = [f"{s.name} (:{s.port})" for s in SERVICES if port_in_use(s.port)]
    busy += [f"front proxy (:{FRONT_PORT})"] if port_in_use(FRONT_PORT) else []
    if busy:
        print(f"tienda seems to be running already: {', '.join(busy)} in use. Stop it first.", file=sys.stderr)
        return 1
    logs = VAR / "log"
    logs.mkdir(parents=True, exist_ok=True)
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def interrupted(*_: object) -> NoReturn:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    started = time.monotonic()
    amqp_url, broker_line = choose_broker(dict(os.environ))
    if amqp_url is not None:
        os.environ["AMQP_URL"] = amqp_url  # every service's environment is this process's
    try:
        for spec in SERVICES:
            procs.append((spec.name, start_service(spec, logs)))
        for (_, proc), spec in zip(procs, SERVICES, strict=True):
            wait_ready(f"{spec.url}/health/live", proc)
        gateway = next(spec for spec in SERVICES if spec.name == "gateway")
        front = start_front_proxy(VAR / "nginx", f"127.0.0.1:{FRONT_PORT}", f"127.0.0.1:{gateway.port}",
                                  logs / "front.log")  # fmt: skip
        procs.append(("front proxy", front))
        wait_ready(f"http://127.0.0.1:{FRONT_PORT}/health/live", front)
        prometheus = start_prometheus(logs)
        if prometheus is not None:
            procs.append(("prometheus", prometheus))
        print(f"tienda is up in {time.monotonic() - started:.1f}s:")
        for spec in SERVICES:
            print(f"  {spec.name:<11} {spec.url}   logs: var/log/{spec.name}.log")
        print(
            f"  public API  http://127.0.0.1:{FRONT_PORT}/api/v1/products   (front proxy; OpenAPI /api/v1/openapi.json)"
        )
        print(f"  integrity   http://127.0.0.1:{PORTS['audit']}/audit/report   (the last audit run's violations)")
        print(f"  {broker_line}")
        if prometheus is not None:
            print(f"  prometheus  http://127.0.0.1:{PROMETHEUS_PORT}")
        elif shutil.which("prometheus") is None:
            print("  prometheus  not installed (apt-get install -y prometheus)")
        if os.environ.get("TIENDA_ENV", "development") == "development":
            print(f"  admin login {DEV_ADMIN['ADMIN_EMAIL']} / {DEV_ADMIN['ADMIN_PASSWORD']} (development only)")
        print("Ctrl-C stops everything.", flush=True)
        while all(proc.poll() is None for _, proc in procs):
            time.sleep(0.5)
        dead = [name for name, proc in procs if proc.poll() is not None]
        print(f"stopping: {', '.join(dead)} exited (see var/log/)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping tienda...", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"tienda failed to start: {exc} (see var/log/)", file=sys.stderr)
        return 1
    finally:
        for _, proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for _, proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
