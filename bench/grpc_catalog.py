"""GetProduct over gRPC against GET /products/{id} over HTTP, side by side: directly and through the gateway.

    python bench/grpc_catalog.py            # from the repository root, with the project's venv

One products process (gunicorn, SQLite, the demo catalog, PRODUCTS_GRPC_PORT) and two gateways in front of it,
one reading the catalog over gRPC (PRODUCTS_GRPC_URL) and one over HTTP; every process exports its spans (all
sampled) to ``bench/otlp_sink.py`` and writes its access lines, as in production. Four targets:

``grpc direct``   ``GetProduct`` on products' gRPC port (one channel per client thread)
``http direct``   ``GET /products/{id}`` on products' HTTP port (one pooled session per client thread)
``gateway grpc``  ``GET /api/v1/products/{id}`` on the gRPC gateway
``gateway http``  ``GET /api/v1/products/{id}`` on the HTTP gateway

The load is ``BENCH_CLIENTS`` Python threads (default 8) in this process calling as fast as they are answered, for
``BENCH_SECONDS`` (default 8) after a ``BENCH_WARMUP_SECONDS`` warm-up (default 2); the targets are interleaved over
``BENCH_ROUNDS`` rounds (default 2) and each round's figures are printed; the last line is machine-readable. The
client shares the machine's cores with the servers, so absolute figures are low and the ratios are what to read.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.products.grpc_contract import pb, pb_grpc  # noqa: E402
from tests.support.procs import Service, free_port  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
WARMUP = float(os.environ.get("BENCH_WARMUP_SECONDS", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
PRODUCT_ID = 3


def run(make_call: Callable[[], Callable[[], None]], seconds: float) -> tuple[float, float, int]:
    """(requests/s, p99 ms, errors) of CLIENTS threads, each calling its own ``make_call()`` for ``seconds``."""
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    errors = [0] * CLIENTS
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        call = make_call()
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                call()
            except Exception:
                errors[index] += 1
                continue
            latencies[index].append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = sorted(x for per in latencies for x in per)
    p99 = every[min(len(every) - 1, int(len(every) * 0.99))] * 1000 if every else float("nan")
    return len(every) / seconds, p99, sum(errors)


def grpc_call(target: str) -> Callable[[], Callable[[], None]]:
    def make() -> Callable[[], None]:
        stub = pb_grpc.ProductServiceStub(grpc.insecure_channel(target))
        request = pb.GetProductRequest(id=PRODUCT_ID)
        return lambda: stub.GetProduct(request, timeout=5)

    return make


def http_call(url: str) -> Callable[[], Callable[[], None]]:
    def make() -> Callable[[], None]:
        session = requests.Session()

        def call() -> None:
            session.get(url, timeout=5).raise_for_status()

        return call

    return make


@contextlib.contextmanager
def shop(tmp: Path) -> Iterator[dict[str, Callable[[], Callable[[], None]]]]:
    sink_port, grpc_port = free_port(), free_port()
    sink = subprocess.Popen([sys.executable, str(ROOT / "bench" / "otlp_sink.py"), str(sink_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    common = {
        "TIENDA_ENV": "test",
        "JWT_SECRET": "bench-secret-" + "x" * 32,
        "LOG_LEVEL": "INFO",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}",
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
    }
    started: list[Service] = []
    try:
        products = Service("services.products.app:create_app()", log_path=tmp / "products.log",
                           env={**common, "DATABASE_URL": f"sqlite:///{tmp / 'products.db'}",
                                "PRODUCTS_GRPC_PORT": str(grpc_port)})  # fmt: skip
        started.append(products)
        target = f"127.0.0.1:{grpc_port}"
        grpc.channel_ready_future(grpc.insecure_channel(target)).result(timeout=20)
        elsewhere = {name: f"http://127.0.0.1:{free_port()}" for name in ("USERS_URL", "ORDERS_URL", "PAYMENTS_URL")}
        gateways = {}
        for name, extra in (("grpc", {"PRODUCTS_GRPC_URL": f"grpc://{target}"}), ("http", {})):
            gateway = Service("services.gateway.app:create_app()", log_path=tmp / f"gateway-{name}.log",
                              env={**common, **elsewhere, "PRODUCTS_URL": products.url, **extra})  # fmt: skip
            started.append(gateway)
            gateways[name] = gateway
        yield {
            "grpc direct": grpc_call(target),
            "http direct": http_call(f"{products.url}/products/{PRODUCT_ID}"),
            "gateway grpc": http_call(f"{gateways['grpc'].url}/api/v1/products/{PRODUCT_ID}"),
            "gateway http": http_call(f"{gateways['http'].url}/api/v1/products/{PRODUCT_ID}"),
        }
    finally:
        for service in reversed(started):
            service.stop()
        sink.terminate()
        sink.wait()


def main() -> int:
    figures: dict[str, list[tuple[float, float, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp, shop(Path(tmp)) as targets:
        names = list(targets)
        for round_number in range(ROUNDS):
            order = names[round_number % len(names) :] + names[: round_number % len(names)]
            for name in order:
                run(targets[name], WARMUP)
                rps, p99, errors = run(targets[name], SECONDS)
                figures.setdefault(name, []).append((rps, p99, errors))
                print(f"round {round_number + 1} {name:13} {rps:8.0f} req/s  p99 {p99:6.1f} ms  errors {errors}")
    print(f"\n| target | req/s (median of {ROUNDS}) | p99 ms (median) |\n|---|---|---|")
    summary = {}
    for name in names:
        rps = statistics.median(f[0] for f in figures[name])
        p99 = statistics.median(f[1] for f in figures[name])
        summary[name] = (rps, p99)
        print(f"| {name} | {rps:.0f} | {p99:.1f} |")
    key = {name: name.replace(" ", "_") for name in names}
    print(" ".join(f"rps_{key[n]}={summary[n][0]:.0f} p99_ms_{key[n]}={summary[n][1]:.1f}" for n in names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
