"""prometheus/: the config, recording rules and alerts pass promtool, and every alert is documented and tested."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from services.stack import SERVICES, render_prometheus_config
from tests.support.monitoring import (
    CONFIG,
    ROOT,
    RULE_FILES,
    RULE_TESTS,
    alert_rules,
    promtool,
    recording_rules,
)


def passes(result) -> None:
    assert result.returncode == 0, f"{' '.join(result.args)}\n{result.stdout}\n{result.stderr}"


def test_the_prometheus_config_with_its_rule_files_passes_promtool_check_config():
    result = promtool("check", "config", CONFIG)
    passes(result)
    assert f"{len(RULE_FILES)} rule files found" in result.stdout


def test_every_rule_file_passes_promtool_check_rules():
    assert {p.name for p in RULE_FILES} == {"recording.yml", "alerts.yml"}
    passes(promtool("check", "rules", *RULE_FILES))


def test_the_promtool_unit_tests_of_the_rules_pass():
    assert RULE_TESTS, "no promtool tests in prometheus/tests/"
    result = promtool("test", "rules", *RULE_TESTS)
    passes(result)
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS)


def test_the_config_loads_every_rule_file_relative_to_itself():
    config = yaml.safe_load(CONFIG.read_text())
    loaded = {path for pattern in config["rule_files"] for path in CONFIG.parent.glob(pattern)}
    assert loaded == set(RULE_FILES)
    assert config["global"]["scrape_interval"] == config["global"]["evaluation_interval"] == "5s"


def test_every_alert_has_a_severity_a_summary_a_description_and_a_runbook_that_exists():
    alerts = alert_rules()
    assert len(alerts) >= 8
    for rule in alerts:
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"page", "ticket"}, name
        annotations = rule["annotations"]
        assert annotations["summary"].strip() and annotations["description"].strip(), name
        assert annotations["runbook_url"] == f"docs/runbooks/{name}.md", name
        runbook = ROOT / annotations["runbook_url"]
        assert runbook.is_file(), f"{name}: {runbook} is missing"
        assert runbook.read_text().startswith(f"# {name}\n"), runbook


def test_every_alert_has_promtool_tests_where_it_fires_and_where_it_does_not():
    firing, silent = set(), set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - firing == set(), "alerts never tested firing"
    assert names - silent == set(), "alerts never tested staying silent"
    assert (firing | silent) - names == set(), "tests of alerts that do not exist"


def test_every_recording_rule_has_a_promtool_test_of_its_values():
    tested = [
        check["expr"]
        for path in RULE_TESTS
        for case in yaml.safe_load(path.read_text())["tests"]
        for check in case.get("promql_expr_test", [])
        if check["exp_samples"]
    ]
    untested = [
        rule["record"]
        for rule in recording_rules()
        if not any(re.search(rf"(?<![\w:]){re.escape(rule['record'])}(?![\w:])", expr) for expr in tested)
    ]
    assert untested == []


def test_the_slo_alerts_read_the_recording_rules_they_are_built_on():
    recorded = {rule["record"] for rule in recording_rules()}
    burns = [rule for rule in alert_rules() if "BudgetBurn" in rule["alert"]]
    assert len(burns) == 4
    for rule in burns:
        used = {name for name in recorded if name in rule["expr"]}
        assert len(used) == 2, (rule["alert"], used)


def test_the_config_renders_for_local_ports_and_drops_jobs_that_only_run_in_compose(tmp_path: Path):
    ports = {"gateway": 18080, "products": 18001, "orders": 18002, "payments": 18003, "users": 18004,
             "prometheus": 19090}  # fmt: skip
    path = render_prometheus_config(tmp_path, ports)
    config = yaml.safe_load(path.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"prometheus", "tienda"}  # rabbitmq runs only in compose
    targets = {group["labels"]["service"]: group["targets"] for group in jobs["tienda"]["static_configs"]}
    assert targets == {name: [f"127.0.0.1:{ports[name]}"] for name in ports if name != "prometheus"}
    assert jobs["prometheus"]["static_configs"][0]["targets"] == ["127.0.0.1:19090"]
    assert config["global"] == yaml.safe_load(CONFIG.read_text())["global"]
    assert [Path(p) for p in config["rule_files"]] == [ROOT / "prometheus" / "rules" / "*.yml"]
    passes(promtool("check", "config", path))


def test_the_config_renders_the_design_ports_by_default(tmp_path: Path):
    config = yaml.safe_load(render_prometheus_config(tmp_path).read_text())
    targets = {t for job in config["scrape_configs"] for g in job["static_configs"] for t in g["targets"]}
    assert targets == {f"127.0.0.1:{s.port}" for s in SERVICES} | {"127.0.0.1:9090"}
