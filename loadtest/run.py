"""Run the load test headless against a running shop and summarise it: what ``make load`` calls.

    python loadtest/run.py [--host URL] [--users N] [--spawn-rate R] [--duration 60s] [--shape NAME] [--out DIR]

Defaults: ``--host http://127.0.0.1:8080`` (``make up``), 20 users, spawned at a tenth of them a second,
for 60 s, no shape; ``--shape`` defaults to ``LOAD_SHAPE`` and hands the users and duration to the shape
(``LOAD_USERS``, ``LOAD_DURATION``; see ``shapes.py``). Other settings of the locustfile (admin credentials,
restock levels) come from the environment as its docstring says.

It checks that something answers at the host, runs Locust headless with ``loadtest/locustfile.py``, and writes
into ``--out`` (default ``var/loadtest/``, created; the previous run's files are replaced):

``report.html``                 Locust's HTML report
``locust_stats.csv``            per request name: counts, failures, percentiles, rps (``Aggregated`` row last)
``locust_failures.csv``         failures grouped by name and reason
``locust_exceptions.csv``, ``locust_stats_history.csv``

and prints, as its last line, a summary read from ``locust_stats.csv``::

    summary: requests=1234 failures=0.08% p50=14ms p95=48ms p99=95ms rps=20.6

Exit status: 0 when the run completed (the failure ratio is in the summary and the reports), 2 when nothing
answers at the host or an option is wrong, otherwise non-zero when Locust failed or wrote no statistics.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LOCUSTFILE = HERE / "locustfile.py"
SHAPES = ("steady", "step", "spike")
CSV_PREFIX = "locust"
REPORT = "report.html"
#: Time Locust gets beyond the run time to stop its users and write its reports before it is killed.
GRACE_SECONDS = 120
_TIMESPAN = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


@dataclass(frozen=True)
class Summary:
    requests: int
    failures: int
    p50: str
    p95: str
    p99: str
    rps: float

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    def line(self) -> str:
        return (
            f"summary: requests={self.requests} failures={self.failure_ratio:.2%} "
            f"p50={self.p50}ms p95={self.p95}ms p99={self.p99}ms rps={self.rps:.1f}"
        )


def read_summary(stats_csv: Path) -> Summary:
    """The ``Aggregated`` row of Locust's ``*_stats.csv``; ValueError when the file has none."""
    with stats_csv.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["Name"] == "Aggregated":
                return Summary(
                    requests=int(row["Request Count"]),
                    failures=int(row["Failure Count"]),
                    p50=row["50%"],
                    p95=row["95%"],
                    p99=row["99%"],
                    rps=float(row["Requests/s"]),
                )
    raise ValueError(f"{stats_csv} has no Aggregated row")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {value}")
    return value


def parse_timespan(text: str) -> int:
    """Seconds in a duration written as Locust's ``--run-time`` takes it: ``90``, ``60s``, ``5m``, ``1h30m10s``.

    (Importing Locust here would monkey-patch this process with gevent, hence this small copy.)
    """
    text = text.strip()
    if text.isdigit():
        return int(text)
    match = _TIMESPAN.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"{text!r} is not a duration like 90, 60s, 5m or 1h30m")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def timespan(text: str) -> str:
    try:
        seconds = parse_timespan(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError("must be longer than zero")
    return text.strip()


def http_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL like http://127.0.0.1:8080")
    return text.rstrip("/")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Headless Locust run against tienda's gateway, with a summary.")
    parser.add_argument("--host", type=http_url, default="http://127.0.0.1:8080", help="the gateway's base URL")
    parser.add_argument("--users", type=positive_int, default=20, help="peak concurrent users (default 20)")
    parser.add_argument("--spawn-rate", type=positive_float, help="users started per second (default: users/10)")
    parser.add_argument("--duration", type=timespan, default="60s", help="run time: 90, 60s, 5m... (default 60s)")
    parser.add_argument(
        "--shape",
        choices=SHAPES,
        default=os.environ.get("LOAD_SHAPE", "").strip().lower() or None,
        help="a load shape from loadtest/shapes.py (default: LOAD_SHAPE; none: constant users)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "loadtest", help="report directory")
    args = parser.parse_args(argv)
    if args.shape is not None and args.shape not in SHAPES:  # argparse does not check a default against choices
        parser.error(f"LOAD_SHAPE must be one of {', '.join(SHAPES)} (or unset), not {args.shape!r}")
    return args


def shop_answers(host: str) -> str | None:
    """None when the gateway answers HTTP at ``host``, else why not."""
    headers = {"baggage": "synthetic_request=true", "X-Request-ID": f"load-{uuid.uuid4().hex[:12]}"}
    try:
        requests.get(f"{host}/api/v1/products?limit=1", headers=headers, timeout=5)
    except requests.RequestException as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def locust_command(args: argparse.Namespace, out: Path) -> tuple[list[str], dict[str, str]]:
    cmd = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "--host", args.host, "--csv", str(out / CSV_PREFIX), "--html", str(out / REPORT),
        "--exit-code-on-error", "0",
    ]  # fmt: skip
    env = dict(os.environ)
    if args.shape:
        env.update(LOAD_SHAPE=args.shape, LOAD_USERS=str(args.users), LOAD_DURATION=args.duration)
    else:
        env["LOAD_SHAPE"] = ""
        spawn_rate = args.spawn_rate or max(1.0, args.users / 10)
        cmd += ["--users", str(args.users), "--spawn-rate", f"{spawn_rate:g}", "--run-time", args.duration]
    return cmd, env


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for old in [out / REPORT, *out.glob(f"{CSV_PREFIX}_*.csv")]:
        old.unlink(missing_ok=True)  # never summarise a previous run

    if (why := shop_answers(args.host)) is not None:
        print(f"loadtest: nothing answers at {args.host} ({why}); start the shop first (make up)", file=sys.stderr)
        return 2

    cmd, env = locust_command(args, out)
    load = f"shape {args.shape}" if args.shape else "constant load"
    print(f"loadtest: {args.users} users, {args.duration}, {load}, against {args.host}", flush=True)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = parse_timespan(args.duration) + GRACE_SECONDS
    try:
        try:
            returncode = proc.wait(deadline)
        except KeyboardInterrupt:  # Locust got the Ctrl-C too: let it stop and write its reports
            returncode = proc.wait(GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        print("loadtest: locust did not finish in time and was killed", file=sys.stderr)
        return 1
    if returncode != 0:
        print(f"loadtest: locust exited with status {returncode}", file=sys.stderr)
        return returncode

    stats = out / f"{CSV_PREFIX}_stats.csv"
    try:
        summary = read_summary(stats)
    except (OSError, ValueError, KeyError) as exc:
        print(f"loadtest: no statistics to summarise ({exc})", file=sys.stderr)
        return 1
    print(f"loadtest: report {out / REPORT}, statistics {stats}")
    print(summary.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
