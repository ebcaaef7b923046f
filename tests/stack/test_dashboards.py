"""dashboards/: the Grafana provisioning and dashboard JSON are consistent, current and valid PromQL."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import yaml

from tests.support.monitoring import (
    DASHBOARD_FILES,
    DASHBOARDS_DIR,
    GRAFANA_BUILTINS,
    PROVISIONING,
    dashboards,
    panel_queries,
    panels,
    promtool,
    variable_references,
)

UIDS = {"tienda-overview", "tienda-service", "tienda-business", "tienda-slo", "tienda-integrity", "tienda-resilience"}


def load_builder():
    spec = importlib.util.spec_from_file_location("dashboards_build", DASHBOARDS_DIR / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def provisioned_datasources() -> dict[str, dict]:
    config = yaml.safe_load((PROVISIONING / "datasources" / "datasources.yml").read_text())
    return {ds["uid"]: ds for ds in config["datasources"]}


def test_the_committed_dashboards_are_what_dashboards_build_py_produces():
    rendered = load_builder().render()
    assert set(rendered) == {path.name for path in DASHBOARD_FILES}
    for name, text in rendered.items():
        assert (DASHBOARDS_DIR / "json" / name).read_text() == text, f"{name} is stale: python dashboards/build.py"


def test_every_dashboard_is_current_grafana_json_with_a_stable_unique_uid():
    found = dashboards()
    uids = [d["uid"] for d in found.values()]
    assert sorted(uids) == sorted(UIDS)
    for name, dashboard in found.items():
        assert dashboard["schemaVersion"] >= 39, name
        assert dashboard["title"].startswith("tienda / ") and "tienda" in dashboard["tags"], name
        ids = [panel["id"] for panel in panels(dashboard)]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"
        kinds = {panel["type"] for panel in panels(dashboard)}
        assert kinds <= {"row", "timeseries", "stat", "table", "heatmap", "bargauge"}, name


def test_no_two_panels_of_a_dashboard_overlap():
    for name, dashboard in dashboards().items():
        cells: dict[tuple[int, int], str] = {}
        for panel in panels(dashboard):
            pos = panel["gridPos"]
            assert pos["x"] + pos["w"] <= 24, (name, panel["title"])
            for x in range(pos["x"], pos["x"] + pos["w"]):
                for y in range(pos["y"], pos["y"] + pos["h"]):
                    assert (x, y) not in cells, f"{name}: {panel['title']} overlaps {cells[(x, y)]}"
                    cells[(x, y)] = panel["title"]


def test_every_panel_and_query_uses_a_provisioned_datasource():
    provisioned = provisioned_datasources()
    for dashboard in dashboards().values():
        for variable in dashboard["templating"]["list"]:
            assert variable["datasource"]["uid"] in provisioned
        for panel in panels(dashboard):
            if panel["type"] == "row":
                continue
            refs = [panel["datasource"], *(t["datasource"] for t in panel["targets"])]
            for ref in refs:
                assert ref["uid"] in provisioned, (dashboard["uid"], panel["title"], ref)
                assert ref["type"] == provisioned[ref["uid"]]["type"]


def test_every_template_variable_a_dashboard_uses_is_defined_in_it():
    for dashboard in dashboards().values():
        defined = {variable["name"] for variable in dashboard["templating"]["list"]}
        text = json.dumps(dashboard["panels"])
        used = {name for name in variable_references(text) if not name.startswith("__")}
        assert used <= defined, (dashboard["uid"], used - defined)
        assert defined <= used, (dashboard["uid"], "defined but unused", defined - used)


def test_every_service_variable_lists_the_services_from_tienda_build_info():
    for dashboard in dashboards().values():
        for variable in dashboard["templating"]["list"]:
            assert variable["name"] == "service"
            assert variable["query"]["query"] == "label_values(tienda_build_info, service)"


def test_every_panel_has_a_title_a_description_and_at_least_one_query():
    for dashboard in dashboards().values():
        for panel in panels(dashboard):
            if panel["type"] != "row":
                assert panel["title"] and panel["description"], panel
                assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"]), panel["title"]


def test_panels_over_the_request_histogram_ask_for_exemplars():
    for dashboard in dashboards().values():
        for panel in panels(dashboard):
            if panel["type"] == "heatmap":
                assert all(t["exemplar"] and t["format"] == "heatmap" for t in panel["targets"]), panel["title"]
    exemplar_exprs = [
        t["expr"] for d in dashboards().values() for p in panels(d) for t in p.get("targets", []) if t["exemplar"]
    ]
    assert all("_bucket" in expr for expr in exemplar_exprs)
    assert any("http_server_request_duration_seconds_bucket" in expr for expr in exemplar_exprs)


def test_every_panel_query_is_valid_promql(tmp_path: Path):
    # promtool has no offline PromQL parser, but it parses every rule expression: one recording rule per query.
    queries = panel_queries()
    assert len(queries) >= 60
    rules = [{"record": f"dashboard:query:{n}", "expr": q.promql(service="gateway")} for n, q in enumerate(queries)]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = promtool("check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout


def test_grafana_built_in_variables_in_queries_are_ones_the_live_test_knows():
    for query in panel_queries():
        builtins = {name for name in variable_references(query.expr) if name.startswith("__")}
        assert builtins <= set(GRAFANA_BUILTINS), (str(query), builtins)


def test_the_datasources_point_at_the_compose_services_and_link_exemplars_to_jaeger():
    sources = provisioned_datasources()
    assert set(sources) == {"prometheus", "jaeger"}
    prometheus, jaeger = sources["prometheus"], sources["jaeger"]
    assert (prometheus["type"], prometheus["url"], prometheus["isDefault"]) == (
        "prometheus",
        "http://prometheus:9090",
        True,
    )
    assert prometheus["jsonData"]["exemplarTraceIdDestinations"] == [{"name": "trace_id", "datasourceUid": "jaeger"}]
    assert prometheus["jsonData"]["timeInterval"] == "5s"  # prometheus.yml's scrape interval
    assert (jaeger["type"], jaeger["url"]) == ("jaeger", "http://jaeger:16686")


def test_the_dashboard_provider_reads_the_directory_compose_mounts_the_json_at():
    config = yaml.safe_load((PROVISIONING / "dashboards" / "dashboards.yml").read_text())
    (provider,) = config["providers"]
    assert provider["type"] == "file" and provider["folder"] == "tienda"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
