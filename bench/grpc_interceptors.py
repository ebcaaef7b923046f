"""What telemetry.grpc's server interceptor costs, against opentelemetry-instrumentation-grpc's, on the same server.

    python bench/grpc_interceptors.py       # needs the bench extra (make bench installs it)

An in-process gRPC server answering ``GetProduct`` from memory (no database: only the interceptor's cost is left)
in three variants, each with every span sampled and exported through a ``BatchSpanProcessor`` to an exporter
that drops them (the export's cost is the same for both and is not what is compared):

``bare``        no interceptor
``telemetry``   :class:`telemetry.grpc.ServerInterceptor`: span, histogram with exemplar, request ID, deadline,
                access line (written to a file at INFO, as in production)
``otel``        ``opentelemetry.instrumentation.grpc.server_interceptor()``: the span only

``BENCH_CLIENTS`` client threads (default 4) call for ``BENCH_SECONDS`` (default 5) per variant and round, over
``BENCH_ROUNDS`` interleaved rounds (default 3); medians are printed, the last line machine-readable.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent import futures
from pathlib import Path

import grpc
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.products.grpc_contract import METHODS, pb, pb_grpc  # noqa: E402
from telemetry.grpc import RpcMetrics, ServerInterceptor  # noqa: E402
from telemetry.logs import configure_logging  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


class Dropping(SpanExporter):
    def export(self, spans: Sequence[object]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class Catalog(pb_grpc.ProductServiceServicer):
    PRODUCT = pb.Product(id=1, sku="MUG", name="Mug", price=pb.Money(cents=1290, currency="EUR"), stock=10)

    def GetProduct(self, request, context):  # noqa: N802
        return self.PRODUCT


def serve(variant: str, provider: TracerProvider) -> tuple[grpc.Server, int]:
    interceptors = []
    if variant == "telemetry":
        interceptors = [ServerInterceptor(provider.get_tracer("bench"), RpcMetrics(CollectorRegistry(), METHODS))]
    elif variant == "otel":
        from opentelemetry.instrumentation.grpc import server_interceptor

        interceptors = [server_interceptor(tracer_provider=provider)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), interceptors=interceptors)
    pb_grpc.add_ProductServiceServicer_to_server(Catalog(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def measure(port: int) -> tuple[float, float]:
    counts = [0] * CLIENTS
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def client(index: int) -> None:
        stub = pb_grpc.ProductServiceStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
        request = pb.GetProductRequest(id=1)
        mine = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            stub.GetProduct(request, timeout=5)
            mine.append(time.perf_counter() - started)
        counts[index] = len(mine)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return sum(counts) / SECONDS, latencies[int(len(latencies) * 0.99)] * 1000


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "access.log", "w") as log:
        configure_logging("bench", "INFO", log)
        logging.getLogger("telemetry.access").setLevel(logging.INFO)
        variants = ["bare", "telemetry", "otel"]
        results: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
        for round_number in range(ROUNDS):
            for variant in variants[round_number % 3 :] + variants[: round_number % 3]:
                provider = TracerProvider()
                provider.add_span_processor(BatchSpanProcessor(Dropping()))
                server, port = serve(variant, provider)
                try:
                    rps, p99 = measure(port)
                finally:
                    server.stop(None)
                    provider.shutdown()
                results[variant].append((rps, p99))
                print(f"round {round_number + 1} {variant:9} {rps:7.0f} calls/s  p99 {p99:5.2f} ms")
    medians = {
        v: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs)) for v, rs in results.items()
    }
    print("\n| variant | calls/s | p99 ms | calls/s vs bare |\n|---|---|---|---|")
    for variant, (rps, p99) in medians.items():
        print(f"| {variant} | {rps:.0f} | {p99:.2f} | {rps / medians['bare'][0]:.2f} |")
    print(" ".join(f"rps_{v}={m[0]:.0f} p99_ms_{v}={m[1]:.2f}" for v, m in medians.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
