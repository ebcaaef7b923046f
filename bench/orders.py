"""Order throughput through the gateway: the full saga, N clients, and what each order costs every service in CPU.

    python bench/orders.py --start                        # own shop on SQLite, own OTLP sink (make bench-orders)
    python bench/orders.py --start --database postgres    # the same on the local PostgreSQL (127.0.0.1:5432)
    python bench/orders.py                                # against a shop already running (make up)

With ``--start`` the benchmark runs its own shop, so nothing else on the machine is touched: every service of
``services.stack`` under the repository's ``gunicorn.conf.py`` on free ports (products' gRPC port too; started
the way ``make up`` starts them, with ``services.stack``'s environment), each with a fresh database (SQLite
files in a temporary directory, or PostgreSQL databases named ``bench_<service>_<random>`` created on the local
server with trust auth and dropped at the end), and ``bench/otlp_sink.py`` as their collector. Telemetry runs
as in production: every trace sampled (``parentbased_always_on``), spans exported over OTLP/HTTP, JSON access
lines at INFO.

Each client is a thread with its own user and keep-alive session placing orders of one item with the approving
test card, as fast as the shop answers; after a warm-up, a measured run. Each service's CPU is read from its own
``process_cpu_seconds_total`` (its gunicorn worker) before and after the measured run and divided by the orders
confirmed in it. ``--database sqlite,postgres`` runs both, one after the other.

Options: ``--clients`` (8), ``--seconds`` (20), ``--warmup`` (3), ``--host`` (without ``--start``, default
``http://127.0.0.1:8080``), ``--telemetry`` (with ``--start``: ``full`` by default; ``nolog`` without access
lines, ``LOG_LEVEL=WARNING``; ``notrace`` without spans, ``OTEL_TRACES_EXPORTER=none``; ``off`` without either:
the differences in CPU per order are telemetry's share of each service), ``--no-write``. With ``--start`` and full
telemetry the tables go to the "Orders through the gateway" section of ``docs/benchmarks.md`` (the rest of that
file is kept). The last line is machine-readable::

    orders_per_s=... p50_ms=... p99_ms=... errors=... cpu_ms_per_order=... cpu_ms_orders=... ... database=sqlite

(with ``--database sqlite,postgres``, the PostgreSQL figures follow on the same line, their keys prefixed ``pg_``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.overhead import HOST, Processes, free_port, metric_value, tail  # noqa: E402
from bench.report import REPORT, load_options, write_section  # noqa: E402
from services import stack  # noqa: E402

ADMIN = (os.environ.get("ADMIN_EMAIL", "admin@tienda.local"), os.environ.get("ADMIN_PASSWORD", "admin-password"))
CARD = {"card_number": "4242424242424242", "expiry": "12/30", "cvc": "123"}
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
READY_DEADLINE_SECONDS = 60.0
SECTION = "## Orders through the gateway"


@dataclass
class Shop:
    """Where the shop under test answers: the gateway's API and every service's own port."""

    api: str
    services: dict[str, str] = field(default_factory=dict)  # name -> base URL, for /metrics


@dataclass
class Result:
    orders: int
    errors: int
    wall_seconds: float
    latencies: list[float]
    cpu_ms_per_order: dict[str, float]
    rss_mib: dict[str, float]
    spans_per_order: dict[str, float] = field(default_factory=dict)  # exported by the end of the measured run

    @property
    def orders_per_s(self) -> float:
        return self.orders / self.wall_seconds

    def percentile_ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * q) - 1))] * 1000


def token(session: requests.Session, api: str, email: str, password: str) -> str:
    r = session.post(f"{api}/auth/token", json={"email": email, "password": password}, timeout=30)
    r.raise_for_status()
    return str(r.json()["access_token"])


def bench_product(api: str, admin_login: tuple[str, str] = ADMIN) -> int:
    """A new product with stock for any run, created by the admin (by default the development one); its id."""
    setup = requests.Session()
    admin = {"Authorization": f"Bearer {token(setup, api, *admin_login)}"}
    product = setup.post(
        f"{api}/products",
        json={"sku": f"BENCH-{uuid.uuid4().hex[:8]}", "name": "Bench item", "description": "", "price_cents": 500,
              "currency": "EUR", "stock": 1_000_000},
        headers=admin, timeout=10,
    )  # fmt: skip
    if product.status_code != 201:
        raise RuntimeError(f"creating the benchmark's product failed: {product.status_code} {product.text}")
    return int(product.json()["id"])


def signed_in_clients(api: str, clients: int) -> list[tuple[requests.Session, dict[str, str]]]:
    """``clients`` new users, each with its own keep-alive session and bearer header."""

    def signed_in() -> tuple[requests.Session, dict[str, str]]:
        session = requests.Session()
        email, password = f"bench-{uuid.uuid4().hex[:10]}@bench.test", "bench password 1"
        session.post(f"{api}/users", json={"email": email, "password": password, "name": "Bench"}, timeout=30)
        return session, {"Authorization": f"Bearer {token(session, api, email, password)}"}

    # One client after the other: a password hash costs users tens of milliseconds of CPU, and eight at once
    # on a loaded machine outlast the gateway's budget; signing in is not what is measured.
    return [signed_in() for _ in range(clients)]


def scrape(services: dict[str, str]) -> dict[str, tuple[float, float, float]]:
    """(process_cpu_seconds_total, process_resident_memory_bytes, tienda_telemetry_spans_exported_total) of every
    service."""
    out = {}
    for name, url in services.items():
        text = requests.get(f"{url}/metrics", timeout=10).text
        out[name] = (
            metric_value(text, "process_cpu_seconds_total") or 0.0,
            metric_value(text, "process_resident_memory_bytes") or 0.0,
            metric_value(text, "tienda_telemetry_spans_exported_total") or 0.0,
        )
    return out


def run_load(shop: Shop, clients: int, warmup: float, seconds: float, admin: tuple[str, str] = ADMIN) -> Result:
    """Warm up, then measure ``clients`` threads placing orders for ``seconds`` (``admin`` creates the product)."""
    body = {"items": [{"product_id": bench_product(shop.api, admin), "quantity": 1}], "payment": CARD}

    lock = threading.Lock()
    measuring = threading.Event()
    stop = threading.Event()
    latencies: list[float] = []
    errors: list[int] = []
    ready = threading.Barrier(clients + 1)

    sessions = signed_in_clients(shop.api, clients)

    def client(session: requests.Session, headers: dict[str, str]) -> None:
        ready.wait(timeout=60)
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status = session.post(f"{shop.api}/orders", json=body, headers=headers, timeout=30).status_code
            except requests.RequestException:
                status = 0
            elapsed = time.perf_counter() - started
            if measuring.is_set() and not stop.is_set():
                with lock:
                    if status == 201:
                        latencies.append(elapsed)
                    else:
                        errors.append(status)

    threads = [threading.Thread(target=client, args=pair, daemon=True) for pair in sessions]
    for t in threads:
        t.start()
    ready.wait(timeout=60)
    time.sleep(warmup)  # the warm-up is a duration of load, not a wait for a server
    before = scrape(shop.services) if shop.services else {}
    started = time.monotonic()
    measuring.set()
    time.sleep(seconds)  # likewise: the measured run
    stop.set()
    wall = time.monotonic() - started
    after = scrape(shop.services) if shop.services else {}
    for t in threads:
        t.join(60)
    orders = len(latencies)
    cpu = {name: (after[name][0] - before[name][0]) * 1000 / max(orders, 1) for name in after}
    rss = {name: after[name][1] / 2**20 for name in after}
    # Spans are exported in batches up to 500 ms late: a count over the run, close to the saga's per order.
    spans = {name: (after[name][2] - before[name][2]) / max(orders, 1) for name in after}
    return Result(orders, len(errors), wall, latencies, cpu, rss, spans)


@contextmanager
def databases(kind: str, workdir: Path) -> Iterator[dict[str, str]]:
    """One empty database per service: SQLite files in ``workdir`` or new PostgreSQL databases (dropped after)."""
    names = [spec.name for spec in stack.SERVICES]
    if kind == "sqlite":
        yield {name: f"sqlite:///{workdir / (name + '.db')}" for name in names}
        return
    import psycopg

    suffix = uuid.uuid4().hex[:8]
    created: list[str] = []
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            for name in names:
                db = f"bench_{name}_{suffix}"
                conn.execute(f'CREATE DATABASE "{db}"')
                created.append(db)
        yield {name: f"{base}/bench_{name}_{suffix}" for name in names}
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            for db in created:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def wait_ready(url: str, proc: object, log: Path) -> None:
    """Poll ``url`` until it answers 200; fail when the process exits or the deadline passes."""
    deadline = time.monotonic() + READY_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:  # type: ignore[attr-defined]
            raise RuntimeError(f"{url}: process exited:\n{tail(log)}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)  # polling interval
    raise RuntimeError(f"{url} not ready after {READY_DEADLINE_SECONDS:.0f} s:\n{tail(log)}")


#: Environment overrides of each ``--telemetry`` choice.
TELEMETRY = {
    "full": {},
    "nolog": {"LOG_LEVEL": "WARNING"},
    "notrace": {"OTEL_TRACES_EXPORTER": "none"},
    "off": {"LOG_LEVEL": "WARNING", "OTEL_TRACES_EXPORTER": "none"},
}


@contextmanager
def own_shop(kind: str, procs: Processes, workdir: Path, sink_port: int, telemetry: str = "full") -> Iterator[Shop]:
    """The five services on free ports, each with its own new database, exporting to the sink."""
    specs = [stack.ServiceSpec(spec.name, free_port()) for spec in stack.SERVICES]
    with databases(kind, workdir) as urls:
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("OTEL_") and not k.endswith("_URL") and k not in ("LOG_LEVEL", "TIENDA_ENV")
        }
        base.update({f"{spec.name.upper()}_URL": spec.url for spec in specs})
        # Products' gRPC catalog (which the gateway reads) on a free port too, not make up's fixed one: a shop
        # already running, or a second benchmark, holds that one, and its gateway would be read from instead.
        grpc_port = free_port()
        base.update({"PRODUCTS_GRPC_PORT": str(grpc_port), "PRODUCTS_GRPC_URL": f"grpc://{HOST}:{grpc_port}"})
        base.update(
            {
                "TIENDA_ENV": "development",  # the development admin creates the benchmark's product
                "LOG_LEVEL": "INFO",
                "OTEL_TRACES_SAMPLER": "parentbased_always_on",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{HOST}:{sink_port}",
                **TELEMETRY[telemetry],
            }
        )
        started = []
        try:
            for spec in specs:
                env = {**stack.service_env(spec, base), "DATABASE_URL": urls[spec.name]}
                log = workdir / f"{kind}-{spec.name}.log"
                argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "-b",
                        f"{HOST}:{spec.port}", spec.app]  # fmt: skip
                started.append((spec, procs.start(argv, env, log), log))
            for spec, proc, log in started:
                wait_ready(f"{spec.url}/health/ready", proc, log)
            yield Shop(f"{specs[-1].url}/api/v1", {spec.name: spec.url for spec in specs})
        finally:
            for _, proc, _ in reversed(started):
                procs.stop(proc)


def report(kind: str, clients: int, result: Result) -> list[str]:
    lines = [
        f"{kind}: {result.orders} orders confirmed in {result.wall_seconds:.1f} s by {clients} clients, "
        f"{result.errors} errors; {result.orders_per_s:.1f} orders/s, p50 {result.percentile_ms(0.5):.1f} ms, "
        f"p99 {result.percentile_ms(0.99):.1f} ms"
    ]
    if result.cpu_ms_per_order:
        lines.append("| service | CPU ms per order | spans per order | RSS MiB at the end |")
        lines.append("|---|---:|---:|---:|")
        for name, ms in sorted(result.cpu_ms_per_order.items(), key=lambda kv: -kv[1]):
            spans = result.spans_per_order.get(name, 0.0)
            lines.append(f"| {name} | {ms:.2f} | {spans:.1f} | {result.rss_mib[name]:.0f} |")
        total_spans = sum(result.spans_per_order.values())
        lines.append(f"| all | {sum(result.cpu_ms_per_order.values()):.2f} | {total_spans:.1f} | |")
    return lines


def machine(result: Result, prefix: str = "") -> str:
    fields = {
        "orders_per_s": f"{result.orders_per_s:.1f}",
        "p50_ms": f"{result.percentile_ms(0.5):.1f}",
        "p99_ms": f"{result.percentile_ms(0.99):.1f}",
        "errors": str(result.errors),
    }
    if result.cpu_ms_per_order:
        fields["cpu_ms_per_order"] = f"{sum(result.cpu_ms_per_order.values()):.2f}"
        fields.update({f"cpu_ms_{name}": f"{ms:.2f}" for name, ms in result.cpu_ms_per_order.items()})
        fields["max_rss_mib"] = f"{max(result.rss_mib.values()):.0f}"
    return " ".join(f"{prefix}{k}={v}" for k, v in fields.items())


def main() -> int:
    parser = load_options(__doc__, seconds=20.0, warmup=3.0)
    parser.add_argument("--start", action="store_true", help="run an own shop and OTLP sink")
    parser.add_argument("--database", default="sqlite", help="sqlite, postgres, or both: sqlite,postgres")
    parser.add_argument("--host", default=os.environ.get("HOST", "http://127.0.0.1:8080"))
    parser.add_argument("--telemetry", choices=sorted(TELEMETRY), default="full")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.database.split(",") if k.strip()]
    if any(k not in ("sqlite", "postgres") for k in kinds) or not kinds:
        parser.error("--database takes sqlite, postgres or sqlite,postgres")

    if not args.start:
        shop = Shop(args.host.rstrip("/") + "/api/v1")
        result = run_load(shop, args.clients, args.warmup, args.seconds)
        print("\n".join(report("running shop", args.clients, result)))
        print(machine(result))
        return 0

    summaries: list[str] = []
    tables: list[str] = []
    procs = Processes()
    with tempfile.TemporaryDirectory(prefix="tienda-bench-orders-") as tmp:
        workdir = Path(tmp)
        try:
            sink_log = workdir / "otlp-sink.log"
            sink, sink_port = procs.start_sink(sink_log)
            for kind in kinds:
                print(f"{kind}: starting the shop ...", file=sys.stderr, flush=True)
                with own_shop(kind, procs, workdir, sink_port, args.telemetry) as shop:
                    result = run_load(shop, args.clients, args.warmup, args.seconds)
                head, *table = report(kind, args.clients, result)
                tables.append("\n".join([head, "", *table]).rstrip("\n"))
                print(tables[-1], flush=True)
                summaries.append(machine(result, "pg_" if kind == "postgres" and len(kinds) > 1 else ""))
            procs.stop(sink)
            print(tail(sink_log, 1))
        finally:
            procs.stop_all()
    if args.telemetry == "full" and not args.no_write:  # the other settings are for comparing, not the record
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        intro = (
            f"Generated by `python bench/orders.py --start` on {now}: {args.clients} clients, {args.warmup:.0f} s "
            f"warm-up, {args.seconds:.0f} s measured, every trace sampled and exported to `bench/otlp_sink.py`."
        )
        write_section("\n\n".join([SECTION, intro, *tables]) + "\n")
        print(f"(written to {REPORT.relative_to(ROOT)})")
    print(" ".join(summaries) + f" database={','.join(kinds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
