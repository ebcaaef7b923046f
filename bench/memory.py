"""Memory under a long mixed load: does every service's RSS stay flat, and under the limit?

    python bench/memory.py                      # 600 s on an own shop (SQLite) and OTLP sink (make bench-memory)
    python bench/memory.py --seconds 120 --warmup 30 --database postgres

The shop and the sink are started the way ``bench/orders.py --start`` starts them (its ``own_shop``: every service
under the repository's ``gunicorn.conf.py`` on free ports, fresh databases, every trace sampled and exported,
JSON access lines at INFO). ``--clients`` (8) threads then loop for ``--seconds``: browse (a page of the catalog
and one product), place an order of one item with the approving test card, and cancel every third confirmed
order (voiding the charge and giving the stock back). Every ``--interval`` (10 s) the resident set (``VmRSS`` of
``/proc/<pid>/status``) of each service's gunicorn master and worker is sampled. The worker serves every request
and is what the limit and the growth are judged on; the master is shown beside it.

Growth is measured from the end of the warm-up (``--warmup``, 60 s: imports, connection pools, caches and the
allocator's arenas have settled by then) to the end of the run. The targets: under ``--limit-mib`` (120) at its
maximum and under ``--growth-pct`` (5) of growth. The table goes to the "Memory" section of
``docs/benchmarks.md`` (the rest of that file is kept); the last line is machine-readable::

    memory max_rss_mib=... worst_growth_pct=... services_over_limit=... services_growing=... requests=... errors=...
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.orders import CARD, bench_product, own_shop, signed_in_clients  # noqa: E402
from bench.overhead import Processes, tail  # noqa: E402
from bench.report import REPORT, load_options, write_section  # noqa: E402

SECTION = "## Memory"
CANCEL_EVERY = 3  # every third confirmed order is cancelled


def rss_kib(pid: int) -> int:
    """``VmRSS`` of ``pid`` in KiB (0 once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def worker_pid(master: int) -> int:
    """The gunicorn worker of ``master`` (one worker per service, see gunicorn.conf.py)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if not children:
        raise RuntimeError(f"gunicorn master {master} has no worker")
    return int(children[0])


@dataclass
class Series:
    """One service's samples: seconds since the load started, worker and master RSS in MiB."""

    times: list[float] = field(default_factory=list)
    worker: list[float] = field(default_factory=list)
    master: list[float] = field(default_factory=list)

    def at(self, seconds: float) -> float:
        """The worker's RSS at the first sample at or after ``seconds``."""
        return next((w for t, w in zip(self.times, self.worker, strict=True) if t >= seconds), self.worker[-1])

    def growth_pct(self, warmup: float) -> float:
        return (self.worker[-1] - self.at(warmup)) / self.at(warmup) * 100


def drive(api: str, clients: int, stop: threading.Event, counts: Counter[str]) -> list[threading.Thread]:
    """Start ``clients`` threads looping browse, order, and every third order a cancel, until ``stop``."""
    product = bench_product(api)
    body = {"items": [{"product_id": product, "quantity": 1}], "payment": CARD}
    lock = threading.Lock()

    def count(kind: str, ok: bool) -> None:
        with lock:
            counts[kind if ok else f"{kind}_errors"] += 1

    def client(session: requests.Session, headers: dict[str, str]) -> None:
        confirmed = 0
        while not stop.is_set():
            try:
                count("browse", session.get(f"{api}/products?limit=20", timeout=30).status_code == 200)
                count("browse", session.get(f"{api}/products/{product}", timeout=30).status_code == 200)
                r = session.post(f"{api}/orders", json=body, headers=headers, timeout=30)
                count("order", r.status_code == 201)
                if r.status_code == 201:
                    confirmed += 1
                    if confirmed % CANCEL_EVERY == 0:
                        cancel = session.post(f"{api}/orders/{r.json()['id']}/cancel", headers=headers, timeout=30)
                        count("cancel", cancel.status_code in (200, 202))
            except requests.RequestException:
                count("transport", False)

    threads = [threading.Thread(target=client, args=pair, daemon=True) for pair in signed_in_clients(api, clients)]
    for t in threads:
        t.start()
    return threads


def sample(masters: dict[str, int], seconds: float, interval: float) -> dict[str, Series]:
    """Every ``interval`` for ``seconds``, each service's worker and master RSS; the first sample at once."""
    workers = {name: worker_pid(pid) for name, pid in masters.items()}
    series = {name: Series() for name in masters}
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        for name, pid in masters.items():
            series[name].times.append(elapsed)
            series[name].worker.append(rss_kib(workers[name]) / 1024)
            series[name].master.append(rss_kib(pid) / 1024)
        if elapsed >= seconds:
            return series
        print(
            f"{elapsed:5.0f} s  " + "  ".join(f"{n} {s.worker[-1]:.0f}" for n, s in series.items()),
            file=sys.stderr,
            flush=True,
        )
        time.sleep(min(interval, max(0.0, seconds - elapsed)))  # the sampling period


def table(series: dict[str, Series], warmup: float, limit: float, growth: float) -> list[str]:
    lines = [
        f"| service | worker MiB at {warmup:.0f} s | at the end | max | growth | master MiB max "
        f"| under {limit:.0f} MiB | under {growth:.0f} % growth |",
        "|---|---:|---:|---:|---:|---:|:---:|:---:|",
    ]
    for name, s in sorted(series.items(), key=lambda kv: -max(kv[1].worker)):
        g = s.growth_pct(warmup)
        lines.append(
            f"| {name} | {s.at(warmup):.1f} | {s.worker[-1]:.1f} | {max(s.worker):.1f} | {g:+.1f} % "
            f"| {max(s.master):.1f} | {'yes' if max(s.worker) < limit else 'NO'} | {'yes' if g < growth else 'NO'} |"
        )
    return lines


def main() -> int:
    parser = load_options(__doc__, seconds=600.0, warmup=60.0)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--limit-mib", type=float, default=120.0)
    parser.add_argument("--growth-pct", type=float, default=5.0)
    args = parser.parse_args()
    if args.warmup >= args.seconds:
        parser.error("--warmup must be shorter than --seconds")

    procs = Processes()
    counts: Counter[str] = Counter()
    stop = threading.Event()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tienda-bench-memory-") as tmp:
        workdir = Path(tmp)
        try:
            sink, sink_port = procs.start_sink(workdir / "otlp-sink.log")
            print(f"{args.database}: starting the shop ...", file=sys.stderr, flush=True)
            with own_shop(args.database, procs, workdir, sink_port) as shop:
                masters = {name: proc.pid for name, proc in zip(shop.services, procs.procs[1:], strict=True)}
                threads = drive(shop.api, args.clients, stop, counts)
                try:
                    series = sample(masters, args.seconds, args.interval)
                finally:
                    stop.set()
                    for t in threads:
                        t.join(60)
            procs.stop(sink)
            print(tail(workdir / "otlp-sink.log", 1), file=sys.stderr)
        finally:
            stop.set()
            procs.stop_all()

    requests_done = sum(v for k, v in counts.items() if not k.endswith("_errors"))
    errors = sum(v for k, v in counts.items() if k.endswith("_errors"))
    worst = max(series.values(), key=lambda s: s.growth_pct(args.warmup))
    over = [n for n, s in series.items() if max(s.worker) >= args.limit_mib]
    growing = [n for n, s in series.items() if s.growth_pct(args.warmup) >= args.growth_pct]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    mix = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    text = "\n".join(
        [
            SECTION,
            "",
            f"Generated by `python bench/memory.py` on {now}: {args.seconds:.0f} s of load on {args.database} by "
            f"{args.clients} clients (browse a catalog page and a product, order one item, cancel every "
            f"{CANCEL_EVERY}rd confirmed order), every trace sampled and exported to `bench/otlp_sink.py`, JSON access "
            f"lines at INFO. RSS is `VmRSS` of each gunicorn process, sampled every {args.interval:.0f} s; growth is "
            f"the worker's from the end of the warm-up ({args.warmup:.0f} s into the load) to the end. Requests: "
            f"{mix}. The machine is shared (1-minute load average {load_start:.1f} at the start, "
            f"{os.getloadavg()[0]:.1f} at the end): it slows the load, which RSS depends on far less than time does.",
            "",
            *table(series, args.warmup, args.limit_mib, args.growth_pct),
            "",
        ]
    )
    print(text)
    if not args.no_write:
        write_section(text)
        print(f"(written to {REPORT.relative_to(ROOT)})")
    print(
        f"memory max_rss_mib={max(max(s.worker) for s in series.values()):.1f} "
        f"worst_growth_pct={worst.growth_pct(args.warmup):.1f} services_over_limit={len(over)} "
        f"services_growing={len(growing)} requests={requests_done} errors={errors} database={args.database}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
