"""What the stack tests share: promtool and Prometheus binaries, the rule files, and the dashboards' queries."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "prometheus"
CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
DASHBOARDS_DIR = ROOT / "dashboards"
DASHBOARD_FILES = sorted((DASHBOARDS_DIR / "json").glob("*.json"))
PROVISIONING = DASHBOARDS_DIR / "provisioning"
INSTALL_HINT = "apt-get update && apt-get install -y prometheus"

#: What Grafana puts in place of its built-in variables when the live test runs a panel's query.
GRAFANA_BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m", "__range_s": "300"}
#: $name, ${name}, ${name:format} and [[name]] references in a query or a link.
VARIABLE_REFERENCE = re.compile(r"\$\{(\w+)(?:[:.][^}]*)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]")


def binary(name: str) -> str:
    """The path of promtool or prometheus; fails (does not skip) with how to install it when missing."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; the stack tests need it (Debian: {INSTALL_HINT})", pytrace=False)
    return path


def promtool(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary("promtool"), *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def rule_groups() -> list[dict]:
    return [group for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]]


def recording_rules() -> list[dict]:
    return [rule for group in rule_groups() for rule in group["rules"] if "record" in rule]


def alert_rules() -> list[dict]:
    return [rule for group in rule_groups() for rule in group["rules"] if "alert" in rule]


def dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in DASHBOARD_FILES}


def panels(dashboard: dict) -> Iterator[dict]:
    """Every panel, including those inside collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref: str
    expr: str

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref}"

    def promql(self, **variables: str) -> str:
        """The query as Grafana sends it: ``variables`` and Grafana's built-ins substituted."""
        values = {**GRAFANA_BUILTINS, **variables}

        def replace(match: re.Match) -> str:
            name = next(group for group in match.groups() if group)
            if name not in values:
                raise KeyError(f"{self}: no value for ${name}")
            return values[name]

        return VARIABLE_REFERENCE.sub(replace, self.expr)


def panel_queries() -> list[PanelQuery]:
    found = []
    for dashboard in dashboards().values():
        for panel in panels(dashboard):
            for t in panel.get("targets", []):
                found.append(PanelQuery(dashboard["uid"], panel["title"], t["refId"], t["expr"]))
    return found


def variable_references(text: str) -> set[str]:
    return {next(g for g in m.groups() if g) for m in VARIABLE_REFERENCE.finditer(text)}


class Prometheus:
    """A real Prometheus server on 127.0.0.1, started with ``config`` and stopped by its PID."""

    def __init__(self, config: Path, port: int, data: Path, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(
            [binary("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={data}",
             f"--web.listen-address=127.0.0.1:{port}", "--enable-feature=exemplar-storage"],
            stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 30.0) -> None:
        self.poll(lambda: requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200, timeout, "ready")

    def poll(self, check, timeout: float, what: str):
        """Call ``check`` until it returns something truthy; fail with the server log after ``timeout``."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                last = check()
            except requests.RequestException as exc:
                last = exc
            if last and not isinstance(last, Exception):
                return last
            time.sleep(0.25)  # polling interval
        raise AssertionError(f"prometheus: not {what} within {timeout}s (last: {last!r}):\n{self.log_tail()}")

    def api(self, path: str, **params) -> dict | list:
        """GET /api/v1/<path>; the ``data`` of a successful answer, else AssertionError with Prometheus' error."""
        response = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        body = response.json()
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, promql: str) -> list[dict]:
        return self.api("query", query=promql)["result"]

    def log_tail(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def has_data(result: list[dict]) -> bool:
    """Whether an instant query's result holds a finite value (a panel that would draw something)."""
    return any(math.isfinite(float(series["value"][1])) for series in result)


def parse_time(text: str) -> float:
    """Prometheus' RFC 3339 times carry nanoseconds; datetime takes microseconds."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    return datetime.fromisoformat(text).timestamp()


def wait_for_targets_up(prometheus: Prometheus, expected: int) -> list[dict]:
    def all_up():
        targets = prometheus.api("targets", state="active")["activeTargets"]
        return targets if len(targets) == expected and all(t["health"] == "up" for t in targets) else None

    return prometheus.poll(all_up, 30, f"scraping all {expected} targets")


def wait_for_scrapes_and_evaluations_after(prometheus: Prometheus, moment: float, scrape_interval: float) -> None:
    """Two scrapes of every target after ``moment``, then a rule evaluation of every group after those."""

    def scraped_twice():
        targets = prometheus.api("targets", state="active")["activeTargets"]
        times = [parse_time(t["lastScrape"]) for t in targets]
        # Scrapes are scrape_interval apart: one later than that after `moment` is the second.
        return min(times) if min(times) > moment + scrape_interval else None

    scraped = prometheus.poll(scraped_twice, 30, "scraped twice after the load")

    def evaluated():
        groups = prometheus.api("rules")["groups"]
        return all(parse_time(g["lastEvaluation"]) > scraped for g in groups)

    prometheus.poll(evaluated, 30, "evaluating every rule group after the scrapes")
