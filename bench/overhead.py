"""What the telemetry package costs a small Flask app: throughput and latency, bare vs instrumented.

    python bench/overhead.py                 # from the repository root, with the project's venv

Four variants of ``bench/app.py`` run under the repository's ``gunicorn.conf.py`` (one gthread worker,
``GUNICORN_THREADS`` threads, the same for all four):

``bare``
    plain Flask, same routes.
``full``
    ``telemetry.instrument`` with every trace sampled (``OTEL_TRACES_SAMPLER=parentbased_always_on``).
``sampled``
    ``telemetry.instrument`` with 10 % of traces sampled (``parentbased_traceidratio``, arg ``0.1``).
``peer``
    what a user would assemble instead, every trace sampled: opentelemetry-instrumentation-flask with the
    SDK's ``BatchSpanProcessor`` and OTLP/HTTP exporter, prometheus_flask_exporter and one python-json-logger
    access line per request (``bench/app.py``; its packages are the ``bench`` extra, which ``make bench``
    installs).

The instrumented variants export over OTLP/HTTP to ``bench/otlp_sink.py`` on 127.0.0.1 and log at INFO
to a file (the JSON access line of every request is part of the cost being measured). Load comes from
``wrk --latency`` (1 thread, 16 connections): a warm-up run, then a measured run. Each variant gets a
fresh server per round; rounds are interleaved (the order rotates every round). Ratios are taken within
a round (each variant against the bare run of the same round, so a slow minute of the machine moves both);
the median and the range over the rounds are reported, as a markdown table printed and written to the
"Telemetry overhead" section of ``docs/benchmarks.md`` (the rest of that file is kept).

Environment: ``BENCH_SECONDS`` (measured run, default 10), ``BENCH_WARMUP_SECONDS`` (default 4),
``BENCH_ROUNDS`` (default 5: on a shared machine a median over more, shorter rounds is steadier than one
over a few long ones, since a burst of other work then spoils fewer of them), ``GUNICORN_THREADS`` (passed
through to gunicorn.conf.py, default 8),
``BENCH_ABLATIONS=1`` (also run the instrumented variants with the access line or tracing switched off,
to see what each part costs; extra rows in the table, the last line is unchanged).

The last line printed is machine-readable::

    rps_ratio_full=0.71 p99_ratio_full=1.45 rps_ratio_sampled=0.88 rps_vs_peer_full=1.52 rps_ratio_peer=...

(then the medians behind them, worker CPU per request and the CPU ratios, ``cpu_ratio_full=...``).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.report import REPORT, write_section  # noqa: E402

SECTION = "## Telemetry overhead"
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
HOST = "127.0.0.1"
APP = "bench.app:create_app()"
ROUTE = "/items/42"
LIVE = "/health/live"

WRK_THREADS = 1
WRK_CONNECTIONS = 16
START_DEADLINE_SECONDS = 30.0
STOP_DEADLINE_SECONDS = 15.0

# The targets the telemetry overhead is held to (docs/overhead-analysis.md); reported, not enforced.
TARGETS = {
    "rps_ratio_full": (">=", 0.70),
    "p99_ratio_full": ("<=", 2.0),
    "rps_ratio_sampled": (">=", 0.80),
    "rps_vs_peer_full": (">=", 1.4),
}


@dataclass(frozen=True)
class Variant:
    """One way of serving the app: its name, extra environment, and the path polled for readiness."""

    name: str
    description: str
    env: dict[str, str]
    ready_path: str


VARIANTS = (
    Variant("bare", "bare Flask", {}, ROUTE),
    Variant(
        "full",
        "instrumented, 100% sampled",
        {"BENCH_INSTRUMENT": "1", "OTEL_TRACES_SAMPLER": "parentbased_always_on"},
        LIVE,
    ),
    Variant(
        "sampled",
        "instrumented, 10% sampled",
        {
            "BENCH_INSTRUMENT": "1",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.1",
        },
        LIVE,
    ),
    Variant(
        "peer",
        "assembled peer, 100% sampled",
        {"BENCH_PEER": "1", "OTEL_TRACES_SAMPLER": "parentbased_always_on"},
        ROUTE,
    ),
)

#: With ``BENCH_ABLATIONS=1``: the instrumented variants again with one part switched off, to attribute the cost
#: (the access line with ``LOG_LEVEL=WARNING``, spans with ``OTEL_TRACES_EXPORTER=none``).
ABLATIONS = (
    Variant(
        "full-nolog",
        "100% sampled, no access line",
        {**VARIANTS[1].env, "LOG_LEVEL": "WARNING"},
        LIVE,
    ),
    Variant(
        "sampled-nolog",
        "10% sampled, no access line",
        {**VARIANTS[2].env, "LOG_LEVEL": "WARNING"},
        LIVE,
    ),
    Variant(
        "notrace",
        "instrumented, tracing off",
        {"BENCH_INSTRUMENT": "1", "OTEL_TRACES_EXPORTER": "none"},
        LIVE,
    ),
)


@dataclass
class WrkResult:
    """What one wrk run reported."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    output: str = field(repr=False)


@dataclass
class RunResult:
    """One measured run of one variant, with the telemetry side effects observed in that run."""

    variant: str
    wrk: WrkResult
    cpu_us: float  # CPU time (user + system) of the gunicorn worker per request of the measured run
    served: int  # requests of the warm-up and the measured run together
    access_lines: int
    spans_exported: float | None
    spans_dropped: float | None


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = int(raw)
    if value <= 0:
        raise SystemExit(f"{name} must be a positive integer, got {raw!r}")
    return value


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """GET ``url``; returns (status, body), status 0 when the connection failed."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, b""


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Processes:
    """Every process the benchmark starts, so each can be stopped by PID, also on error."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        with log.open("wb") as out:
            # Own session: a gunicorn master that ignores SIGTERM can then be killed with its worker.
            proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        """SIGTERM, wait for a graceful exit (gunicorn flushes spans then), SIGKILL the group if it hangs."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(reversed(self.procs)):
            self.stop(proc)

    def start_sink(self, log: Path) -> tuple[subprocess.Popen, int]:
        """Start ``bench/otlp_sink.py`` on a free port, logging to ``log``; return it and its port once it listens."""
        port = free_port()
        sink = self.start([sys.executable, str(ROOT / "bench" / "otlp_sink.py"), str(port)], dict(os.environ), log)
        wait_for_port(sink, port, log)
        return sink, port


def wait_until_ready(proc: subprocess.Popen, url: str, log: Path) -> None:
    """Poll ``url`` until it answers 200; fail if the process dies or the deadline passes."""
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.pid} exited with {proc.returncode} before {url} answered:\n{tail(log)}")
        if http_get(url, timeout=1.0)[0] == 200:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer 200 within {START_DEADLINE_SECONDS:.0f} s:\n{tail(log)}")


def wait_for_port(proc: subprocess.Popen, port: int, log: Path) -> None:
    """Poll until something accepts TCP connections on ``port``; fail if the process dies or time runs out."""
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.pid} exited with {proc.returncode}:\n{tail(log)}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on {HOST}:{port} within {START_DEADLINE_SECONDS:.0f} s:\n{tail(log)}")


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNIT_MS[unit]


def parse_wrk(output: str) -> WrkResult:
    """Requests/s, p50, p99, request count and errors from ``wrk --latency`` output."""

    def find(pattern: str) -> re.Match:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"unexpected wrk output (no match for {pattern!r}):\n{output}")
        return match

    rps = float(find(r"^Requests/sec:\s+([\d.]+)").group(1))
    p50 = find(r"^\s+50%\s+([\d.]+)(us|ms|s|m|h)\s*$")
    p99 = find(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$")
    requests = int(find(r"^\s+(\d+) requests in ").group(1))
    errors = 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    return WrkResult(rps, _ms(*p50.groups()), _ms(*p99.groups()), requests, errors, output)


def run_wrk(url: str, seconds: int) -> WrkResult:
    argv = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--latency", url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return parse_wrk(done.stdout)


def metric_value(exposition: str, name: str, labels: str = "") -> float | None:
    """The value of one sample in Prometheus text format, or None when it is absent."""
    match = re.search(rf"^{re.escape(name + labels)} ([0-9.eE+-]+)$", exposition, re.MULTILINE)
    return float(match.group(1)) if match else None


def worker_pid(master: int) -> int:
    """The PID of the (single) gunicorn worker of ``master``."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise RuntimeError(f"expected one gunicorn worker under PID {master}, found {children}")
    return int(children[0])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time consumed so far by process ``pid`` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def base_env(sink_port: int) -> dict[str, str]:
    """The environment every variant starts from: ours minus anything that would change the setup."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "BENCH_")) and k not in ("LOG_LEVEL", "BIND", "TIENDA_ENV")
    }
    env.update(
        {
            "LOG_LEVEL": "INFO",
            "TIENDA_ENV": "test",
            "OTEL_SERVICE_NAME": "bench",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{HOST}:{sink_port}",
        }
    )
    return env


def run_variant(
    variant: Variant, procs: Processes, env: dict[str, str], workdir: Path, label: str, warmup: int, seconds: int
) -> RunResult:
    """Start a fresh server for ``variant``, warm it up, measure it, stop it, and check its side effects."""
    port = free_port()
    log = workdir / f"{label}-{variant.name}.log"
    argv = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "-b", f"{HOST}:{port}", APP]
    server = procs.start(argv, {**env, **variant.env}, log)
    try:
        wait_until_ready(server, f"http://{HOST}:{port}{variant.ready_path}", log)
        url = f"http://{HOST}:{port}{ROUTE}"
        warm = run_wrk(url, warmup)
        worker = worker_pid(server.pid)
        cpu_before = cpu_seconds(worker)
        result = run_wrk(url, seconds)
        cpu_us = (cpu_seconds(worker) - cpu_before) / result.requests * 1e6
        exported = dropped = None
        if variant.env.get("BENCH_INSTRUMENT") == "1":  # the peer has no such counters
            status, body = http_get(f"http://{HOST}:{port}/metrics")
            if status == 200:
                text = body.decode()
                exported = metric_value(text, "tienda_telemetry_spans_exported_total")
                dropped = sum(
                    metric_value(text, "tienda_telemetry_spans_dropped_total", f'{{reason="{r}"}}') or 0.0
                    for r in ("queue_full", "export_failed")
                )
    finally:
        procs.stop(server)
    if result.errors:
        raise RuntimeError(f"{variant.name}: wrk saw {result.errors} errors:\n{result.output}")
    access_lines = sum(1 for line in log.read_text(errors="replace").splitlines() if '"http.access"' in line)
    return RunResult(variant.name, result, cpu_us, warm.requests + result.requests, access_lines, exported, dropped)


@dataclass
class Summary:
    """One variant over the rounds: medians of its own measures, and of its ratios to bare within each round."""

    variant: Variant
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us: float
    rps_ratios: list[float]  # per round, to the bare run of the same round
    p99_ratios: list[float]
    cpu_ratios: list[float]  # bare's worker CPU per request over this variant's, per round
    runs: list[RunResult]

    @property
    def rps_ratio(self) -> float:
        return statistics.median(self.rps_ratios)

    @property
    def p99_ratio(self) -> float:
        return statistics.median(self.p99_ratios)

    @property
    def cpu_ratio(self) -> float:
        return statistics.median(self.cpu_ratios)


def summarize(variant: Variant, runs_by_round: list[dict[str, RunResult]]) -> Summary:
    mine = [r[variant.name] for r in runs_by_round]
    bare = [r["bare"] for r in runs_by_round]
    return Summary(
        variant,
        statistics.median(r.wrk.rps for r in mine),
        statistics.median(r.wrk.p50_ms for r in mine),
        statistics.median(r.wrk.p99_ms for r in mine),
        statistics.median(r.cpu_us for r in mine),
        [m.wrk.rps / b.wrk.rps for m, b in zip(mine, bare, strict=True)],
        [m.wrk.p99_ms / b.wrk.p99_ms for m, b in zip(mine, bare, strict=True)],
        [b.cpu_us / m.cpu_us for m, b in zip(mine, bare, strict=True)],
        mine,
    )


def _range(values: list[float], digits: int = 2) -> str:
    return f"{min(values):.{digits}f}-{max(values):.{digits}f}" if len(values) > 1 else f"{values[0]:.{digits}f}"


def table(summaries: dict[str, Summary]) -> str:
    rows = [
        "| variant | req/s | p50 ms | p99 ms | rps ratio to bare (range) | p99 ratio to bare (range) "
        "| worker CPU us/req (range) | CPU ratio to bare (range) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries.values():
        cpu_range = _range([r.cpu_us for r in s.runs], 0)
        rows.append(
            f"| {s.variant.name} ({s.variant.description}) | {s.rps:.0f} | {s.p50_ms:.2f} | {s.p99_ms:.2f} "
            f"| {s.rps_ratio:.2f} ({_range(s.rps_ratios)}) | {s.p99_ratio:.2f} ({_range(s.p99_ratios)}) "
            f"| {s.cpu_us:.0f} ({cpu_range}) | {s.cpu_ratio:.2f} ({_range(s.cpu_ratios)}) |"
        )
    return "\n".join(rows)


def vs_peer(summaries: dict[str, Summary]) -> list[float]:
    """Throughput of ``full`` over that of ``peer``, per round."""
    full, peer = summaries["full"].runs, summaries["peer"].runs
    return [f.wrk.rps / p.wrk.rps for f, p in zip(full, peer, strict=True)]


def side_effects(summaries: dict[str, Summary]) -> str:
    """One line per instrumented run: requests served, access lines written, spans exported and dropped."""
    lines = []
    for s in summaries.values():
        if s.variant.name == "bare":
            continue
        for i, r in enumerate(s.runs, 1):
            spans = (
                f"spans exported {r.spans_exported or 0:.0f}, dropped {r.spans_dropped or 0:.0f} "
                "(read from /metrics at the end of the measured run)"
                if r.spans_exported is not None or r.spans_dropped is not None
                else "spans exported by the SDK's own processor (not counted)"
            )
            lines.append(
                f"- {s.variant.name}, round {i}: {r.wrk.rps:.0f} req/s, p99 {r.wrk.p99_ms:.2f} ms; "
                f"{r.access_lines} JSON access lines for {r.served} requests (warm-up included); {spans}"
            )
    return "\n".join(lines)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def report(
    summaries: dict[str, Summary], threads: str, warmup: int, seconds: int, rounds: int, load: tuple[float, float]
) -> str:
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    targets = ", ".join(f"{k} {op} {v}" for k, (op, v) in TARGETS.items())
    vs_peer_text = ", ".join(f"{r:.2f}" for r in vs_peer(summaries))
    return f"""{SECTION}

Generated by `python bench/overhead.py` on {date}.

### Method

Machine: {nproc} CPUs ({cpu_model()}), Python {platform.python_version()}, {platform.system()} \
{platform.release()}. The app is `bench/app.py` (`GET {ROUTE}` returns a small JSON object), served by
`gunicorn -c gunicorn.conf.py` (the repository's settings: one `gthread` worker, {threads} threads)
on 127.0.0.1, a fresh server per variant and round. Load: `wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS}
--latency` on the same machine, a {warmup} s warm-up and then a {seconds} s measured run; {rounds} rounds
with the variants interleaved (order rotated each round). req/s, p50, p99 and CPU are medians over the rounds;
the ratios are taken within each round (against that round's bare run) and given as the median and, in
brackets, the range over the rounds. The instrumented variants log at INFO to a file (one JSON access line
per request) and export spans over OTLP/HTTP to `bench/otlp_sink.py`, a local sink that answers 200 without
decoding; the batch span processor uses telemetry's defaults. `full` samples every trace
(`parentbased_always_on`), `sampled` 10 % (`parentbased_traceidratio`, `0.1`). `peer` is what a user would
assemble instead, every trace sampled: opentelemetry-instrumentation-flask with the SDK's `BatchSpanProcessor`
and OTLP/HTTP exporter at their defaults, prometheus_flask_exporter, and one python-json-logger access line
per request (`bench/app.py`). wrk and the server share the machine's CPUs, so absolute numbers are lower
than on a dedicated host; the ratios are what this measures. `worker CPU us/req` is the gunicorn worker's
user + system CPU time (all its threads, span export included) over the measured run divided by the
requests served: it is less sensitive than req/s to other load on the machine (1-minute load average
{load[0]:.1f} at the start of this run, {load[1]:.1f} at the end). `CPU ratio to bare` is bare's worker CPU per
request over the variant's, per round: the throughput ratio the variant would have if the worker's CPU were
all that limited it.

Targets: {targets}. `full` over `peer`, throughput, per round: {vs_peer_text}.

### Results

{table(summaries)}

Instrumented runs:

{side_effects(summaries)}
"""


def machine_line(summaries: dict[str, Summary]) -> str:
    bare, full, sampled, peer = (summaries[n] for n in ("bare", "full", "sampled", "peer"))
    return (
        f"rps_ratio_full={full.rps_ratio:.2f} p99_ratio_full={full.p99_ratio:.2f} "
        f"rps_ratio_sampled={sampled.rps_ratio:.2f} rps_vs_peer_full={statistics.median(vs_peer(summaries)):.2f} "
        f"rps_ratio_peer={peer.rps_ratio:.2f} p99_ratio_peer={peer.p99_ratio:.2f} "
        f"p99_ratio_sampled={sampled.p99_ratio:.2f} "
        f"rps_bare={bare.rps:.0f} rps_full={full.rps:.0f} rps_sampled={sampled.rps:.0f} rps_peer={peer.rps:.0f} "
        f"cpu_us_bare={bare.cpu_us:.0f} cpu_us_full={full.cpu_us:.0f} cpu_us_sampled={sampled.cpu_us:.0f} "
        f"cpu_us_peer={peer.cpu_us:.0f} cpu_ratio_full={full.cpu_ratio:.2f} cpu_ratio_sampled={sampled.cpu_ratio:.2f}"
    )


def _terminate(signum, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally that stops our processes


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed: run `apt-get install -y wrk` (Debian/Ubuntu) and try again.", file=sys.stderr)
        return 2
    seconds = env_int("BENCH_SECONDS", 10)
    warmup = env_int("BENCH_WARMUP_SECONDS", 4)
    rounds = env_int("BENCH_ROUNDS", 5)
    threads = os.environ.get("GUNICORN_THREADS", "8")
    variants = VARIANTS + (ABLATIONS if os.environ.get("BENCH_ABLATIONS") == "1" else ())
    signal.signal(signal.SIGTERM, _terminate)

    load_start = os.getloadavg()[0]
    procs = Processes()
    runs: list[dict[str, RunResult]] = []
    with tempfile.TemporaryDirectory(prefix="tienda-bench-") as tmp:
        workdir = Path(tmp)
        try:
            sink_log = workdir / "otlp-sink.log"
            sink, sink_port = procs.start_sink(sink_log)
            env = base_env(sink_port)
            for round_no in range(rounds):
                order = variants[round_no % len(variants) :] + variants[: round_no % len(variants)]
                runs.append({})
                for variant in order:
                    print(f"round {round_no + 1}/{rounds}: {variant.name} ...", file=sys.stderr, flush=True)
                    run = run_variant(variant, procs, env, workdir, f"r{round_no + 1}", warmup, seconds)
                    print(
                        f"  {run.wrk.rps:.0f} req/s, p50 {run.wrk.p50_ms:.2f} ms, p99 {run.wrk.p99_ms:.2f} ms, "
                        f"worker CPU {run.cpu_us:.0f} us/request",
                        file=sys.stderr,
                        flush=True,
                    )
                    runs[-1][variant.name] = run
            procs.stop(sink)
            print(tail(sink_log, 1), file=sys.stderr)
        finally:
            procs.stop_all()

    summaries = {v.name: summarize(v, runs) for v in variants}
    text = report(summaries, threads, warmup, seconds, rounds, (load_start, os.getloadavg()[0]))
    write_section(text)
    print(table(summaries))
    print()
    print(side_effects(summaries))
    print(f"\n(written to {REPORT.relative_to(ROOT)})")
    print(machine_line(summaries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
