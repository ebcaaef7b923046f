"""A short headless load run (10 users, 20 s) against a shop started for it, through ``loadtest/run.py``: the path
``make load`` takes. The shop is the five services as real gunicorn processes (``running_shop``) on SQLite."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.otlp import OtlpReceiver
from tests.support.shop import ADMIN, running_shop

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "loadtest" / "run.py"
USERS, DURATION = 10, "20s"

#: The request names each journey must produce, as (method, name) rows of the stats CSV.
JOURNEYS = {
    "Browser": [("GET", "/api/v1/products"), ("GET", "/api/v1/products/[id]")],
    "Buyer": [
        ("POST", "/api/v1/users"),
        ("POST", "/api/v1/auth/token"),
        ("GET", "/api/v1/users/me"),
        ("POST", "/api/v1/orders"),
        ("GET", "/api/v1/orders/[id]/details"),
    ],
    "UnluckyBuyer": [("POST", "/api/v1/orders (card_declined)"), ("POST", "/api/v1/orders (insufficient_funds)")],
    "Canceller": [
        ("POST", "/api/v1/orders"),
        ("GET", "/api/v1/orders"),
        ("POST", "/api/v1/orders/[id]/cancel"),
        ("GET", "/api/v1/orders/[id]"),
    ],
    "Scanner": [("GET", "[unknown path]")],
    "operator": [("POST", "/api/v1/products/[id]/restock")],
}
EXPECTED_ERRORS = [
    ("POST", "/api/v1/orders (card_declined)"),
    ("POST", "/api/v1/orders (insufficient_funds)"),
    ("GET", "[unknown path]"),
]

pytestmark = pytest.mark.timeout(300)


@dataclass
class Row:
    requests: int
    failures: int


@dataclass
class LoadRun:
    returncode: int
    stdout: str
    stderr: str
    out: Path
    rows: dict[tuple[str, str], Row]
    total: Row
    sold_out_product: int
    stock_after: int
    gateway_request_ids: list[str]


def read_stats(path: Path) -> tuple[dict[tuple[str, str], Row], Row]:
    rows, total = {}, None
    with path.open(newline="") as f:
        for line in csv.DictReader(f):
            row = Row(int(line["Request Count"]), int(line["Failure Count"]))
            if line["Name"] == "Aggregated":
                total = row
            else:
                rows[(line["Type"], line["Name"])] = row
    assert total is not None, f"no Aggregated row in {path}"
    return rows, total


@pytest.fixture(scope="module")
def load_run(tmp_path_factory) -> LoadRun:
    tmp = tmp_path_factory.mktemp("load")
    receiver = OtlpReceiver().start()
    try:
        with running_shop("sqlite", tmp, receiver) as shop:
            # Sold out before the run: the operator in the locustfile must notice and restock it.
            sold_out = shop.create_product(stock=0)
            env = {
                **os.environ,
                "LOAD_ADMIN_EMAIL": ADMIN["email"],
                "LOAD_ADMIN_PASSWORD": ADMIN["password"],
                "LOAD_SHAPE": "",
            }
            cmd = [sys.executable, str(RUN), "--host", shop.services["gateway"].url, "--users", str(USERS),
                   "--spawn-rate", str(USERS), "--duration", DURATION, "--out", str(tmp / "report")]  # fmt: skip
            done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=200)
            stock_after = shop.product(sold_out["id"])["stock"]
            request_ids = [line["request_id"] for line in shop.logs("gateway") if line.get("event") == "http.access"]
    finally:
        receiver.stop()
    assert done.returncode == 0, f"run.py failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    rows, total = read_stats(tmp / "report" / "locust_stats.csv")
    return LoadRun(done.returncode, done.stdout, done.stderr, tmp / "report", rows, total, sold_out["id"],
                   stock_after, request_ids)  # fmt: skip


@pytest.mark.parametrize("journey", sorted(JOURNEYS))
def test_every_journey_shows_up_in_the_statistics_under_its_route_names(load_run, journey):
    missing = [name for name in JOURNEYS[journey] if load_run.rows.get(name, Row(0, 0)).requests == 0]
    assert not missing, f"{journey}: no requests named {missing}; stats have {sorted(load_run.rows)}"


def test_requests_are_named_by_route_never_by_raw_url(load_run):
    raw = [name for _, name in load_run.rows if re.search(r"/\d+(/|$)|\?", name)]
    assert not raw


def test_fewer_than_one_request_in_a_hundred_fails(load_run):
    assert load_run.total.requests > 100
    failures = (load_run.out / "locust_failures.csv").read_text()
    assert load_run.total.failures / load_run.total.requests < 0.01, failures


def test_declined_cards_and_unknown_paths_are_counted_as_expected_answers(load_run):
    for name in EXPECTED_ERRORS:
        row = load_run.rows[name]
        assert row.requests >= 1 and row.failures == 0, (name, row)


def test_a_sold_out_product_is_restocked_through_the_admin_api(load_run):
    assert load_run.rows[("POST", "/api/v1/products/[id]/restock")].failures == 0
    assert load_run.stock_after > 0


def test_the_shop_sees_every_load_request_under_a_load_request_id(load_run):
    marked = [request_id for request_id in load_run.gateway_request_ids if request_id.startswith("load-")]
    assert all(re.fullmatch(r"load-[0-9a-f]{12}", request_id) for request_id in marked)
    assert len(set(marked)) == len(marked) >= load_run.total.requests


def test_the_html_report_is_written(load_run):
    report = load_run.out / "report.html"
    assert report.is_file() and report.stat().st_size > 1000
    assert "/api/v1/orders/[id]/details" in report.read_text()


def test_run_prints_a_one_line_summary_of_the_csv_stats(load_run):
    last = load_run.stdout.strip().splitlines()[-1]
    match = re.fullmatch(
        r"summary: requests=(\d+) failures=(\d+\.\d\d)% p50=(\d+)ms p95=(\d+)ms p99=(\d+)ms rps=(\d+\.\d)", last
    )
    assert match, last
    assert int(match[1]) == load_run.total.requests
    assert float(match[2]) == pytest.approx(100 * load_run.total.failures / load_run.total.requests, abs=0.006)
    assert int(match[3]) <= int(match[4]) <= int(match[5])
    assert float(match[6]) > 0
