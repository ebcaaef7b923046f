"""Where an instrumented request's time goes: a single-threaded, in-process companion to overhead.py.

    python bench/profile_request.py                  # CPU per request of each configuration
    python bench/profile_request.py --profile full   # plus a cProfile of one configuration

Each configuration runs in its own child process, which builds ``bench.app:create_app()`` with that
configuration's environment and calls the WSGI app directly (no HTTP server, no client: a prepared
``GET /items/42`` environ, as gunicorn would pass it) in one thread, ``--requests`` times after a
warm-up. Stdout (the JSON log lines) goes to a file and spans are exported over OTLP/HTTP to
``bench/otlp_sink.py``, as in the benchmark. Reported per request:

* ``request us``: CPU time of the thread that serves the requests (Flask, the telemetry hooks, span
  creation, the JSON access line);
* ``export us``: CPU time spent exporting the spans, measured as the process's CPU time over the loop
  and a final ``force_flush()`` minus the request thread's share (so it is mostly the batch span
  processor's thread encoding and posting batches);
* their sum, and its difference to ``bare``; and ``wall us``, elapsed time over the loop and the flush.

The span queue is made large enough (``OTEL_BSP_MAX_QUEUE_SIZE``) that no span is dropped while the
loop, which produces spans much faster than a server does, outruns the export thread; batches keep
their size (256), and the flush inside the timed window makes every span's export count.

The configurations beyond the benchmark's three switch one telemetry feature off at a time, to
attribute the cost: ``full-nolog`` (``LOG_LEVEL=WARNING``: no access line) and ``full-notrace``
(``OTEL_TRACES_EXPORTER=none``: no spans; logs and metrics stay).

cProfile sees the main thread only; the export thread's share is the ``other threads`` column.

``--instructions`` counts instructions instead of timing, which the load of a shared machine does not
move: each configuration runs twice under ``valgrind --tool=callgrind`` (every thread counted, the export
thread included), once with no measured request and once with ``--requests``, both after the same
warm-up and with Python's ``random`` seeded (trace and span IDs, sampling decisions); the difference of
the two totals over the number of requests is the instructions per request. Slow (callgrind runs Python
about 20-50 times slower): ``--requests 1000`` is plenty, the figure is stable to about 1 %.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.overhead import ROUTE, Processes, base_env  # noqa: E402

CONFIGS: dict[str, dict[str, str]] = {
    "bare": {},
    "full": {"BENCH_INSTRUMENT": "1", "OTEL_TRACES_SAMPLER": "parentbased_always_on"},
    "sampled": {
        "BENCH_INSTRUMENT": "1",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.1",
    },
    "full-nolog": {"BENCH_INSTRUMENT": "1", "OTEL_TRACES_SAMPLER": "parentbased_always_on", "LOG_LEVEL": "WARNING"},
    "full-notrace": {"BENCH_INSTRUMENT": "1", "OTEL_TRACES_EXPORTER": "none"},
}
#: Set for every configuration: no span may be dropped during the loop (see the module docstring).
COMMON = {"OTEL_BSP_MAX_QUEUE_SIZE": "1000000"}


def make_request_loop(app):
    """A function that sends one ``GET ROUTE`` through ``app`` the way a WSGI server does."""
    from werkzeug.test import EnvironBuilder

    template = EnvironBuilder(
        path=ROUTE, base_url="http://127.0.0.1:8000", headers={"User-Agent": "wrk", "Connection": "keep-alive"}
    ).get_environ()
    template["REMOTE_ADDR"] = "127.0.0.1"
    template["SERVER_PROTOCOL"] = "HTTP/1.1"

    def start_response(status, headers, exc_info=None):
        if not status.startswith("200"):
            raise RuntimeError(f"unexpected status {status}")

    def one() -> None:
        environ = dict(template)
        environ["wsgi.input"] = io.BytesIO(b"")
        body = app(environ, start_response)
        try:
            for _ in body:
                pass
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return one


def child(requests: int, result_path: str, profile_path: str | None, warmup: int | None = None) -> None:
    """Run in the configured environment: measure the loop, optionally profile it, write the result."""
    from bench.app import create_app

    if warmup is not None:  # counting instructions: the same IDs and sampling decisions in both runs
        random.seed(12)

    app = create_app()
    handle = app.extensions.get("telemetry")
    provider = handle.tracer_provider if handle is not None else None

    def flush() -> None:
        if provider is not None:
            provider.force_flush()

    one = make_request_loop(app)
    for _ in range(min(2000, requests) if warmup is None else warmup):  # caches, label children, first exports
        one()
    flush()
    wall0, cpu0, main0 = time.perf_counter(), time.process_time(), time.thread_time()
    for _ in range(requests):
        one()
    main = time.thread_time() - main0
    flush()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    result = {
        "wall_us": wall / max(requests, 1) * 1e6,
        "request_us": main / max(requests, 1) * 1e6,
        "export_us": (cpu - main) / max(requests, 1) * 1e6,
    }
    if handle is not None:
        registry = handle.metrics.registry
        result["spans_exported"] = registry.get_sample_value("tienda_telemetry_spans_exported_total") or 0
        result["spans_dropped"] = sum(
            registry.get_sample_value("tienda_telemetry_spans_dropped_total", {"reason": r}) or 0
            for r in ("queue_full", "export_failed")
        )
    if profile_path:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            one()
        profiler.disable()
        profiler.dump_stats(profile_path)
    Path(result_path).write_text(json.dumps(result))
    import telemetry

    telemetry.shutdown()


def print_profile(path: str, name: str, limit: int = 25) -> None:
    """Top functions of a cProfile dump by own time and by cumulative time, as % of the profiled total."""
    stats = pstats.Stats(path)
    total = stats.total_tt
    rows = [(func, cc, nc, tt, ct) for func, (cc, nc, tt, ct, _) in stats.stats.items()]

    def label(func) -> str:
        filename, line, fn = func
        short = filename
        for marker in ("site-packages/", "lib/python3", str(ROOT) + "/"):
            if marker in filename:
                short = filename.split(marker, 1)[1]
                break
        return f"{fn} ({short}:{line})"

    print(f"\ncProfile of '{name}', main thread only, {total:.3f} s profiled")
    print(f"\n  top {limit} by own time:")
    for func, _, nc, tt, _ in sorted(rows, key=lambda r: r[3], reverse=True)[:limit]:
        print(f"    {100 * tt / total:5.1f}%  {nc:>8} calls  {label(func)}")
    print(f"\n  top {limit} by cumulative time (telemetry, logging, opentelemetry, json-logger):")
    wanted = ("telemetry/", "logging/", "opentelemetry/", "pythonjsonlogger/", "prometheus_client/")
    cumulative = [r for r in rows if any(w in r[0][0] for w in wanted)]
    for func, _, nc, _, ct in sorted(cumulative, key=lambda r: r[4], reverse=True)[:limit]:
        print(f"    {100 * ct / total:5.1f}%  {nc:>8} calls  {label(func)}")


def run_child(name: str, requests: int, workdir: Path, sink_port: int, profile: bool) -> dict:
    """Run one configuration in a fresh process; returns its result (and leaves a .prof when asked)."""
    result_path = workdir / f"{name}.json"
    argv = [sys.executable, __file__, "--child", name, "--requests", str(requests), "--result", str(result_path)]
    if profile:
        argv += ["--profile-out", str(workdir / f"{name}.prof")]
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        done = subprocess.run(
            argv,
            cwd=ROOT,
            env={**base_env(sink_port), **COMMON, **CONFIGS[name]},
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=1800,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{log.read_text(errors='replace')[-3000:]}")
    return json.loads(result_path.read_text())


_COLLECTED = re.compile(r"Collected : (\d+)")
#: Set when counting: string hashing as well as IDs the same in every run, and batches exported when full (256
#: spans) or flushed, never by the processor's timer, which under callgrind's slowdown would fire some 30 times
#: as often per request as in a real server and post a small batch each time.
_COUNTING = {"PYTHONHASHSEED": "0", "OTEL_BSP_SCHEDULE_DELAY": "600000"}


def count_instructions(name: str, requests: int, workdir: Path, sink_port: int, warmup: int = 500) -> float:
    """Instructions per request of configuration ``name``: two callgrind runs, without and with the requests."""
    totals = []
    for n in (0, requests):
        result_path = workdir / f"{name}-{n}.json"
        argv = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={workdir / f'{name}-{n}.callgrind'}",
            sys.executable,
            __file__,
            "--child",
            name,
            "--requests",
            str(n),
            "--warmup",
            str(warmup),
            "--result",
            str(result_path),
        ]
        done = subprocess.run(
            argv,
            cwd=ROOT,
            env={**base_env(sink_port), **COMMON, **CONFIGS[name], **_COUNTING},
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        match = _COLLECTED.search(done.stderr)
        if done.returncode != 0 or match is None:
            raise RuntimeError(f"{name} under callgrind failed ({done.returncode}):\n{done.stderr[-3000:]}")
        totals.append(int(match.group(1)))
    return (totals[1] - totals[0]) / requests


def main_instructions(names: list[str], requests: int) -> int:
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install -y valgrind", file=sys.stderr)
        return 2
    procs = Processes()
    counts: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="tienda-instructions-") as tmp:
        try:
            sink, sink_port = procs.start_sink(Path(tmp) / "sink.log")
            for name in names:
                counts[name] = count_instructions(name, requests, Path(tmp), sink_port)
                print(f"{name}: {counts[name]:,.0f} instructions/request", file=sys.stderr, flush=True)
            procs.stop(sink)
        finally:
            procs.stop_all()
    print(f"\nInstructions per request (callgrind, all threads), {requests} requests after a 500-request warm-up")
    print(f"{'config':<13} {'instructions':>13} {'vs bare':>12}")
    bare = counts.get("bare")
    for name, count in counts.items():
        delta = f"{count - bare:>+12,.0f}" if bare is not None else ""
        print(f"{name:<13} {count:>13,.0f} {delta}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration, interleaved; median kept")
    parser.add_argument("--profile", choices=sorted(CONFIGS), help="also cProfile this configuration")
    parser.add_argument("--only", nargs="*", choices=sorted(CONFIGS), help="configurations to run (default all)")
    parser.add_argument("--instructions", action="store_true", help="count instructions with callgrind instead")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.requests, args.result, args.profile_out, args.warmup)
        return 0

    names = args.only or list(CONFIGS)
    if args.instructions:
        return main_instructions(names, args.requests)
    if args.profile and args.profile not in names:
        names.append(args.profile)
    procs = Processes()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="tienda-profile-") as tmp:
        workdir = Path(tmp)
        try:
            sink_log = workdir / "sink.log"
            sink, sink_port = procs.start_sink(sink_log)
            runs: dict[str, list[dict]] = {name: [] for name in names}
            for attempt in range(args.repeat):
                for name in names:
                    profile = name == args.profile and attempt == 0
                    runs[name].append(run_child(name, args.requests, workdir, sink_port, profile))
                    print(f"{name} {attempt + 1}/{args.repeat}: done", file=sys.stderr, flush=True)
            results = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()}
            procs.stop(sink)
        finally:
            procs.stop_all()

        print(f"\nCPU per request, {args.requests} requests, one thread, in process, median of {args.repeat} runs")
        print(
            f"{'config':<13} {'request us':>10} {'export us':>10} {'total us':>9} {'vs bare':>8} {'wall us':>8}"
            "  spans exported/dropped"
        )
        bare = results.get("bare")
        for name, r in results.items():
            total = r["request_us"] + r["export_us"]
            delta = f"{total - bare['request_us'] - bare['export_us']:>+8.1f}" if bare else f"{'':>8}"
            spans = f"{r['spans_exported']:.0f}/{r['spans_dropped']:.0f}" if "spans_exported" in r else "-"
            print(
                f"{name:<13} {r['request_us']:>10.1f} {r['export_us']:>10.1f} {total:>9.1f} {delta} "
                f"{r['wall_us']:>8.1f}  {spans}"
            )
        if args.profile:
            print_profile(str(workdir / f"{args.profile}.prof"), args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
