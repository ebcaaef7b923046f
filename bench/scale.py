"""Orders/s through the gateway, one replica of every service against two, on this machine in one run.

    python bench/scale.py              # make bench-scale
    python bench/scale.py --seconds 30 --clients 8 --no-write

Both shops are tests/support/replicas.py's: every service (users, products, payments, orders, notifications,
gateway) as real gunicorns, each group behind one round-robin nginx, on fresh PostgreSQL databases, with the
local RabbitMQ (events) and Redis (products' cache, the gateway's throttle). The single shop has one replica per
group, the other two, and both go through the proxies, so the one difference is the number of replicas. Spans go
to ``bench/otlp_sink.py`` (every trace sampled), access lines are logged at INFO, as in production.

Both shops are started together and stay up; the load is bench/orders.py's, on one shop at a time:
``--clients`` threads (8), each with its own user and keep-alive session, placing one-item orders with the
approving card as fast as the shop answers, a warm-up (``--warmup``, 3 s) and then a measured run (``--seconds``,
15). ``--rounds`` (3) of one run per shop, the order rotated each round, so that other load on the machine falls on
both alike; orders/s are medians over the rounds, the ratio is taken within each round. The shops run the
services' own timings (relays every second, spans batched every 5 s), not the tests' shorter ones. Each replica's
CPU per order, from its own ``process_cpu_seconds_total``, is given for the round of median throughput. The
tables go to the "Orders through the gateway, one replica and two" section of ``docs/benchmarks.md`` unless
``--no-write``. The last line is machine-readable::

    orders_per_s_single=... orders_per_s_replicas=... ratio=... cpus=...

On two cores the shop is CPU-bound long before it is out of threads, so a second replica of everything adds
processes competing for the same two CPUs: what this measures is the cost or gain of scaling out on one machine,
not what more machines would give.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.orders import Result, report, run_load  # noqa: E402
from bench.orders import Shop as Target  # noqa: E402
from bench.overhead import Processes  # noqa: E402
from bench.report import REPORT, load_options, write_section  # noqa: E402
from tests.support.auth import INTERNAL_TOKEN_KEY  # noqa: E402
from tests.support.replicas import replicated_shop  # noqa: E402
from tests.support.shop import ADMIN, EVENTS_SHOP  # noqa: E402

SECTION = "## Orders through the gateway, one replica and two"


@dataclass(frozen=True)
class Sink:
    """bench/otlp_sink.py standing where a test shop's OTLP receiver would: the shop only needs its endpoint, and
    the sink, a process of its own that drops what it gets, costs this process no CPU."""

    endpoint: str


#: The services' own timings where the test shop shortens them (docs/architecture.md: relays every second, the
#: OpenTelemetry SDK's batch delay), and the key every test shop signs its internal calls with (tests/conftest.py
#: sets it for the tests).
PRODUCTION_TIMINGS = {"RELAY_INTERVAL_SECONDS": "1", "OTEL_BSP_SCHEDULE_DELAY": "5000",
                      "INTERNAL_TOKEN_KEY": INTERNAL_TOKEN_KEY}  # fmt: skip
VARIANTS = {1: "1 replica of every service", 2: "2 replicas of every service"}


def main() -> int:
    parser = load_options(__doc__, seconds=15.0, warmup=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    procs = Processes()
    rounds: list[dict[int, Result]] = []
    admin = (ADMIN["email"], ADMIN["password"])
    with tempfile.TemporaryDirectory(prefix="tienda-bench-scale-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        stack.callback(procs.stop_all)
        _, port = procs.start_sink(workdir / "otlp-sink.log")
        sink = Sink(f"http://127.0.0.1:{port}")
        env = {name: PRODUCTION_TIMINGS for name in EVENTS_SHOP}
        targets = {}
        for replicas in VARIANTS:
            print(f"{VARIANTS[replicas]}: starting ...", file=sys.stderr, flush=True)
            (workdir / str(replicas)).mkdir()
            shop = stack.enter_context(replicated_shop(workdir / str(replicas), sink, replicas=replicas, extra_env=env))
            targets[replicas] = Target(shop.api, {name: service.url for name, service in shop.services.items()})
        for n in range(args.rounds):
            order = list(VARIANTS)[n % 2 :] + list(VARIANTS)[: n % 2]
            rounds.append({r: run_load(targets[r], args.clients, args.warmup, args.seconds, admin) for r in order})
            print(f"round {n + 1}: " + ", ".join(f"{VARIANTS[r]} {rounds[-1][r].orders_per_s:.1f} orders/s"
                                                 for r in order), file=sys.stderr, flush=True)  # fmt: skip
    lines = ["| round | 1 replica, orders/s | 2 replicas, orders/s | 2 over 1 |", "|---:|---:|---:|---:|"]
    for n, r in enumerate(rounds, 1):
        lines.append(
            f"| {n} | {r[1].orders_per_s:.1f} | {r[2].orders_per_s:.1f} | {r[2].orders_per_s / r[1].orders_per_s:.2f} |"
        )
    tables = ["\n".join(lines)]
    single = statistics.median(r[1].orders_per_s for r in rounds)
    double = statistics.median(r[2].orders_per_s for r in rounds)
    ratio = statistics.median(r[2].orders_per_s / r[1].orders_per_s for r in rounds)
    for replicas, name in VARIANTS.items():
        median = sorted(rounds, key=lambda r: r[replicas].orders_per_s)[len(rounds) // 2][replicas]
        head_line, *table = report(f"{name} (the round of median throughput)", args.clients, median)
        tables.append("\n".join([head_line, "", *table]))
    print("\n\n".join(tables), flush=True)
    if not args.no_write:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        intro = (
            f"Generated by `python bench/scale.py` on {now}: {os.cpu_count()} CPUs, PostgreSQL, {args.clients} "
            f"clients, {args.rounds} rounds of {args.warmup:.0f} s warm-up and {args.seconds:.0f} s measured per "
            f"shop, order rotated; one replica of every service against two, each group behind nginx's round robin "
            f"(tests/support/replicas.py), both shops up throughout; every trace sampled and exported to "
            f"`bench/otlp_sink.py`. Medians: {single:.1f} orders/s with one replica, {double:.1f} with two, "
            f"{ratio:.2f} times. 1-minute load average {os.getloadavg()[0]:.1f} at the end (the machine is shared)."
        )
        write_section("\n\n".join([SECTION, intro, *tables]) + "\n")
        print(f"(written to {REPORT.relative_to(ROOT)})")
    print(
        f"orders_per_s_single={single:.1f} orders_per_s_replicas={double:.1f} ratio={ratio:.2f} cpus={os.cpu_count()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
