"""docs/faults.md names only what exists: every panel and dashboard it sends readers to, every alert it says
fires, and every fault kind, so the playbook cannot drift from the dashboards, the rules and telemetry.faults."""

from __future__ import annotations

import re

import requests

import telemetry.deadline
from telemetry.faults import KINDS
from tests.support.monitoring import ROOT, alert_rules, dashboards, panels

FAULTS_DOC = ROOT / "docs" / "faults.md"
#: *Italic* names: panels and dashboards. `CamelCase` names in backquotes: alerts or exceptions.
ITALIC = re.compile(r"(?<![*\w])\*([^*`\s][^*]*?)\*(?![*\w])")
CAMEL = re.compile(r"`([A-Z][a-z]+(?:[A-Z][a-z0-9]*)+)`")


def text() -> str:
    return " ".join(FAULTS_DOC.read_text().split())  # names wrapped over two lines are one name


def test_every_panel_and_dashboard_the_fault_playbook_names_exists():
    titles = {panel["title"] for d in dashboards().values() for panel in panels(d)}
    dashboard_titles = {d["title"] for d in dashboards().values()}
    named = set(ITALIC.findall(text())) - {"tienda / ..."}
    unknown = {
        name for name in named if name not in titles | dashboard_titles and f"tienda / {name}" not in dashboard_titles
    }
    assert unknown == set()
    assert {"Violations by invariant", "Faults injected by rule", "tienda / Integrity"} <= named


def test_every_alert_the_fault_playbook_says_fires_exists():
    alerts = {rule["alert"] for rule in alert_rules()}
    exceptions = {name for name in ("ConnectionError", "ReadTimeout") if hasattr(requests, name)}
    exceptions |= {"DeadlineExceeded"} & set(dir(telemetry.deadline))
    named = set(CAMEL.findall(text()))
    assert named - alerts - exceptions == set()
    assert {"InvariantViolated", "AuditNotRunning", "SagaCompensationsSpiking"} <= named


def test_the_fault_playbook_gives_the_signals_of_every_fault_kind_on_a_route_and_on_an_upstream():
    rows = [line for line in FAULTS_DOC.read_text().splitlines() if line.startswith("| `")]
    for kind in KINDS:
        assert any(row.startswith(f"| `{kind}` on a route |") for row in rows), kind
        assert any(row.startswith(f"| `{kind}` on an upstream |") for row in rows), kind
