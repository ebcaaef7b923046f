"""Where an instrumented request's time goes: a single-threaded, in-process companion to overhead.py.

    python bench/profile_request.py                  # CPU per request of each configuration
    python bench/profile_request.py --profile full   # plus a cProfile of one configuration

Each configuration runs in its own child process, which builds ``bench.app:create_app()`` with that
configuration's environment and calls the WSGI app directly (no HTTP server, no client: a prepared
``GET /items/42`` environ, as gunicorn would pass it) in one thread, ``--requests`` times after a
warm-up. Stdout (the JSON log lines) goes to a file and spans are exported over OTLP/HTTP to
``bench/otlp_sink.py``, as in the benchmark. Reported per request:

* wall time, process CPU time (every thread: the span processor's export thread included), and the
  CPU of the other threads alone (process minus main thread);
* the difference to ``bare``.

The configurations beyond the benchmark's three switch one telemetry feature off at a time, to
attribute the cost: ``full-nolog`` (``LOG_LEVEL=WARNING``: no access line), ``full-notrace``
(``OTEL_TRACES_EXPORTER=none``: no spans) and ``full-noexport`` (spans made but sent nowhere:
``OTEL_TRACES_EXPORTER=console`` with a huge batch delay, so nothing is printed during the run).

cProfile sees the main thread only; the export thread's share is the ``other threads`` column.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.overhead import ROUTE, Processes, base_env, free_port, wait_for_port  # noqa: E402

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
    "full-noexport": {
        "BENCH_INSTRUMENT": "1",
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_BSP_SCHEDULE_DELAY": "3600000",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "1000000",
        "OTEL_BSP_MAX_QUEUE_SIZE": "1000000",
    },
}


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


def child(requests: int, result_path: str, profile_path: str | None) -> None:
    """Run in the configured environment: measure the loop, optionally profile it, write the result."""
    from bench.app import create_app

    app = create_app()
    one = make_request_loop(app)
    for _ in range(min(2000, requests)):  # warm-up: caches, label children, first exports
        one()
    wall0, cpu0, main0 = time.perf_counter(), time.process_time(), time.thread_time()
    for _ in range(requests):
        one()
    wall, cpu, main = time.perf_counter() - wall0, time.process_time() - cpu0, time.thread_time() - main0
    result = {"wall_us": wall / requests * 1e6, "cpu_us": cpu / requests * 1e6,
              "other_threads_us": (cpu - main) / requests * 1e6}
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--profile", choices=sorted(CONFIGS), help="also cProfile this configuration")
    parser.add_argument("--only", nargs="*", choices=sorted(CONFIGS), help="configurations to run (default all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.requests, args.result, args.profile_out)
        return 0

    names = args.only or list(CONFIGS)
    if args.profile and args.profile not in names:
        names.append(args.profile)
    procs = Processes()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="tienda-profile-") as tmp:
        workdir = Path(tmp)
        try:
            sink_port = free_port()
            sink_log = workdir / "sink.log"
            sink = procs.start([sys.executable, str(ROOT / "bench" / "otlp_sink.py"), str(sink_port)],
                               dict(os.environ), sink_log)
            wait_for_port(sink, sink_port, sink_log)
            for name in names:
                result_path = workdir / f"{name}.json"
                argv = [sys.executable, __file__, "--child", name, "--requests", str(args.requests),
                        "--result", str(result_path)]
                if name == args.profile:
                    argv += ["--profile-out", str(workdir / f"{name}.prof")]
                log = workdir / f"{name}.log"
                with log.open("wb") as out:
                    done = subprocess.run(argv, cwd=ROOT, env={**base_env(sink_port), **CONFIGS[name]},
                                          stdout=out, stderr=subprocess.STDOUT, timeout=1800, check=False)
                if done.returncode != 0:
                    raise RuntimeError(f"{name} failed:\n{log.read_text(errors='replace')[-3000:]}")
                results[name] = json.loads(result_path.read_text())
                print(f"{name}: done", file=sys.stderr, flush=True)
            procs.stop(sink)
        finally:
            procs.stop_all()

        bare = results.get("bare")
        print(f"\nper request, {args.requests} requests, one thread, in process")
        print(f"{'config':<15} {'wall us':>9} {'cpu us':>9} {'other thr us':>13} {'cpu - bare':>11}")
        for name, r in results.items():
            delta = f"{r['cpu_us'] - bare['cpu_us']:>11.1f}" if bare else ""
            print(f"{name:<15} {r['wall_us']:>9.1f} {r['cpu_us']:>9.1f} {r['other_threads_us']:>13.1f} {delta}")
        if args.profile:
            print_profile(str(workdir / f"{args.profile}.prof"), args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
