"""Build the Grafana dashboards in dashboards/json/ from the definitions in this file.

    python dashboards/build.py          # rewrite dashboards/json/*.json
    python dashboards/build.py --check  # exit 1 if the committed JSON is not what this file builds

The JSON is committed (Grafana's file provider reads it, mounted at /var/lib/grafana/dashboards); this file
is the source. tests/stack checks that the two agree, that every query is valid PromQL over metrics the
services really export, and, against a live shop and Prometheus, that every panel has data.

Every query goes to the provisioned Prometheus datasource (uid ``prometheus``); every panel over the
``http_server_request_duration_seconds`` histogram asks for exemplars, which link to Jaeger (uid ``jaeger``)
through the datasource's ``exemplarTraceIdDestinations``. SLO panels read the recording rules of
prometheus/rules/recording.yml; the objectives (99.5% availability, 99% within 500 ms) are the ones the
alerts in prometheus/rules/alerts.yml use.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

OUT = Path(__file__).resolve().parent / "json"
PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}
SCHEMA_VERSION = 39

# SLO objectives and their error budgets (prometheus/rules/alerts.yml).
AVAILABILITY_OBJECTIVE = 0.995
LATENCY_OBJECTIVE = 0.99
AVAILABILITY_BUDGET = "0.005"
LATENCY_BUDGET = "0.01"
FAST_BURN, SLOW_BURN = 14.4, 6
TIMES = "suffix:x"  # burn rates read "14.4x"

HTTP = "http_server_request_duration_seconds"
CLIENT = "http_client_request_duration_seconds"
RPC_SERVER = "rpc_server_duration_seconds"
RPC_CLIENT = "rpc_client_duration_seconds"
RATE = "[$__rate_interval]"


# --- panel building blocks ------------------------------------------------------------------------------


def target(expr: str, legend: str = "", *, fmt: str = "time_series", instant: bool = False, exemplar: bool = False):
    return {
        "datasource": PROMETHEUS,
        "editorMode": "code",
        "expr": expr,
        "exemplar": exemplar,
        "format": fmt,
        "instant": instant,
        "legendFormat": legend or "__auto",
        "range": not instant,
    }


def thresholds(*steps: tuple[str, float | None]) -> dict:
    return {"mode": "absolute", "steps": [{"color": color, "value": value} for color, value in steps]}


GREEN = thresholds(("green", None))


def _panel(kind: str, title: str, description: str, targets: list[dict], w: int, h: int) -> dict:
    for ref, t in zip("ABCDEFGHIJ", targets, strict=False):
        t["refId"] = ref
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": PROMETHEUS,
        "gridPos": {"h": h, "w": w},
        "targets": targets,
    }


def _field_config(
    color: str, unit: str, threshold_steps: dict | None, limits: dict | None, *, custom: dict | None = None
) -> dict:
    """A panel's field defaults: colour mode, thresholds (green if none), unit, and ``limits`` (min, max, decimals)."""
    defaults: dict = {"color": {"mode": color}}
    if custom is not None:
        defaults["custom"] = custom
    defaults.update({"thresholds": threshold_steps or GREEN, "unit": unit, **(limits or {})})
    return {"defaults": defaults, "overrides": []}


def timeseries(
    title: str,
    description: str,
    targets: list[dict],
    unit: str,
    *,
    w: int = 12,
    h: int = 8,
    limits: dict | None = None,
    threshold_steps: dict | None = None,
    stack: bool = False,
) -> dict:
    panel = _panel("timeseries", title, description, targets, w, h)
    custom = {
        "axisBorderShow": False,
        "axisPlacement": "auto",
        "drawStyle": "line",
        "fillOpacity": 25 if stack else 8,
        "gradientMode": "none",
        "lineInterpolation": "linear",
        "lineWidth": 1,
        "pointSize": 4,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stack else "none"},
        "thresholdsStyle": {"mode": "dashed" if threshold_steps else "off"},
    }
    panel["fieldConfig"] = _field_config("palette-classic", unit, threshold_steps, limits, custom=custom)
    panel["options"] = {
        "legend": {
            "calcs": ["mean", "max", "lastNotNull"],
            "displayMode": "table",
            "placement": "bottom",
            "showLegend": True,
        },
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return panel


def stat(
    title: str,
    description: str,
    targets: list[dict],
    unit: str,
    *,
    w: int = 4,
    h: int = 4,
    threshold_steps: dict | None = None,
    text_mode: str = "value",
    decimals: int | None = None,
) -> dict:
    panel = _panel("stat", title, description, targets, w, h)
    panel["fieldConfig"] = _field_config(
        "thresholds", unit, threshold_steps, {} if decimals is None else {"decimals": decimals}
    )
    panel["options"] = {
        "colorMode": "value",
        "graphMode": "area" if text_mode == "value" else "none",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "showPercentChange": False,
        "textMode": text_mode,
        "wideLayout": True,
    }
    return panel


def bargauge(title: str, description: str, targets: list[dict], unit: str, *, limits: dict, steps: dict) -> dict:
    """Horizontal gauges, one per series, coloured by ``steps`` (the error-budget panels)."""
    panel = _panel("bargauge", title, description, targets, w=12, h=8)
    panel["fieldConfig"] = _field_config("thresholds", unit, steps, limits)
    panel["options"] = {
        "displayMode": "gradient",
        "maxVizHeight": 300,
        "minVizHeight": 16,
        "minVizWidth": 8,
        "namePlacement": "auto",
        "orientation": "horizontal",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "showUnfilled": True,
        "sizing": "auto",
        "valueMode": "color",
    }
    return panel


def heatmap(title: str, description: str, expr: str, *, w: int = 12, h: int = 8) -> dict:
    panel = _panel("heatmap", title, description, [target(expr, "{{le}}", fmt="heatmap", exemplar=True)], w, h)
    panel["fieldConfig"] = {
        "defaults": {
            "custom": {
                "hideFrom": {"legend": False, "tooltip": False, "viz": False},
                "scaleDistribution": {"type": "linear"},
            }
        },
        "overrides": [],
    }
    panel["options"] = {
        "calculate": False,
        "cellGap": 1,
        "color": {
            "exponent": 0.5,
            "fill": "dark-orange",
            "mode": "scheme",
            "reverse": False,
            "scale": "exponential",
            "scheme": "Oranges",
            "steps": 64,
        },
        "exemplars": {"color": "rgba(255,0,255,0.7)"},
        "filterValues": {"le": 1e-9},
        "legend": {"show": True},
        "rowsFrame": {"layout": "auto"},
        "showValue": "never",
        "tooltip": {"mode": "single", "showColorScale": False, "yHistogram": True},
        "yAxis": {"axisPlacement": "left", "reverse": False, "unit": "s"},
    }
    return panel


def table(
    title: str,
    description: str,
    columns: list[tuple[str, str, str]],
    *,
    w: int = 24,
    h: int = 8,
    labels: tuple[str, ...] = (),
    links: dict[str, str] | None = None,
) -> dict:
    """An instant table, one row per series; ``columns`` are (header, unit, expr), merged on their labels."""
    targets = [target(expr, fmt="table", instant=True) for _, _, expr in columns]
    panel = _panel("table", title, description, targets, w, h)
    overrides = [
        {"matcher": {"id": "byName", "options": header}, "properties": [{"id": "unit", "value": unit}]}
        for header, unit, _ in columns
    ]
    for field, url in (links or {}).items():
        overrides.append(
            {
                "matcher": {"id": "byName", "options": field},
                "properties": [{"id": "links", "value": [{"title": f"Open {field}", "url": url}]}],
            }
        )
    panel["fieldConfig"] = {
        "defaults": {
            "custom": {"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False},
            "thresholds": GREEN,
        },
        "overrides": overrides,
    }
    panel["options"] = {
        "cellHeight": "sm",
        "footer": {"countRows": False, "fields": "", "reducer": ["sum"], "show": False},
        "showHeader": True,
    }
    # organize's indexByName and renameByName name the fields as the merge left them ("Value #<refId>").
    order = {label: i for i, label in enumerate(labels)}
    order.update({f"Value #{t['refId']}": len(labels) + i for i, t in enumerate(targets)})
    panel["transformations"] = [
        {"id": "merge", "options": {}},
        {
            "id": "organize",
            "options": {
                "excludeByName": {"Time": True},
                "indexByName": order,
                "renameByName": {
                    f"Value #{t['refId']}": header for t, (header, _, _) in zip(targets, columns, strict=True)
                },
            },
        },
    ]
    return panel


def row(title: str) -> dict:
    return {"type": "row", "title": title, "collapsed": False, "gridPos": {"h": 1, "w": 24}, "panels": []}


def layout(panels: list[dict]) -> list[dict]:
    """Give panels ids and positions, left to right, wrapping at Grafana's 24 columns; rows start a line."""
    x = y = line_height = 0
    for number, panel in enumerate(panels, start=1):
        pos = panel["gridPos"]
        if panel["type"] == "row" or x + pos["w"] > 24:
            y, x, line_height = y + line_height, 0, 0
        pos["x"], pos["y"] = x, y
        panel["id"] = number
        x += pos["w"]
        line_height = max(line_height, pos["h"])
        if panel["type"] == "row":
            x, y, line_height = 0, y + 1, 0
    return panels


def service_variable(*, multi: bool) -> dict:
    query = "label_values(tienda_build_info, service)"
    variable = {
        "name": "service",
        "label": "Service",
        "type": "query",
        "datasource": PROMETHEUS,
        "definition": query,
        "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 1,
        "regex": "",
        "sort": 1,
        "hide": 0,
        "multi": multi,
        "includeAll": multi,
        "options": [],
        "skipUrlSync": False,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]} if multi else {},
    }
    return variable


#: File name in dashboards/json/ -> the function that builds that dashboard; filled by :func:`dashboard`.
DASHBOARDS: dict[str, Callable[[], dict]] = {}


def dashboard(file: str, uid: str, title: str, *, variables: Sequence[dict] = ()):
    """Register a function that returns a dashboard's panels as the dashboard written to ``json/<file>``.

    The function's docstring, on one line, is the dashboard's description, as Grafana shows it under the title.
    """

    def register(panels: Callable[[], list[dict]]) -> Callable[[], list[dict]]:
        if not panels.__doc__:
            raise ValueError(f"{panels.__name__}: a dashboard's docstring is its description")
        description = " ".join(panels.__doc__.split())
        DASHBOARDS[file] = lambda: _dashboard_json(uid, title, description, panels(), list(variables))
        return panels

    return register


def _dashboard_json(uid: str, title: str, description: str, panels: list[dict], variables: list[dict]) -> dict:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["tienda"],
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "liveNow": False,
        "refresh": "10s",
        "schemaVersion": SCHEMA_VERSION,
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "version": 1,
        "weekStart": "",
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "links": [
            {
                "asDropdown": False,
                "icon": "external link",
                "includeVars": True,
                "keepTime": True,
                "tags": ["tienda"],
                "targetBlank": False,
                "title": "tienda",
                "tooltip": "",
                "type": "dashboards",
                "url": "",
            }
        ],
        "templating": {"list": variables},
        "panels": layout(panels),
    }


def rpc(series: str, by: str, sel: str, *, matchers: str = "") -> str:
    """``sum by (by) (rate(...))`` of the gRPC calls served (products) and made (the gateway), told apart by the label
    ``side``; ``series`` is ``_count`` or ``_bucket``, ``matchers`` more label matchers."""
    parts = []
    for side, histogram in (("served", RPC_SERVER), ("made", RPC_CLIENT)):
        inner = f"sum by ({by}) (rate({histogram}{series}{{{sel}{matchers}}}{RATE}))"
        parts.append(f'label_replace({inner}, "side", "{side}", "", "")')
    return " or ".join(parts)


def rpc_panels(sel: str, by: str, legend: str, *, w: int) -> list[dict]:
    """gRPC rate, errors and p99 latency by method, for the calls served and made by the selected services."""
    note = ("products serves tienda.products.v1.ProductService on :50051; the gateway reads the catalog over it "
            "(PRODUCTS_GRPC_URL). `served`: calls products answered, `made`: calls the gateway sent.")  # fmt: skip
    return [
        timeseries("gRPC calls by method", f"gRPC calls per second by method. {note}",
                   [target(rpc("_count", by, sel), legend)], "reqps", w=w),
        timeseries("gRPC errors by method and status", "gRPC calls per second that ended in a status other than "
                   "OK, by method and status (NOT_FOUND and INVALID_ARGUMENT are the caller's; UNAVAILABLE, "
                   f"DEADLINE_EXCEEDED, INTERNAL and UNKNOWN are failures). {note}",
                   [target(rpc("_count", f"{by}, rpc_grpc_status_code", sel,
                               matchers=', rpc_grpc_status_code!="OK"'),
                           f"{legend} {{{{rpc_grpc_status_code}}}}")], "reqps", w=w),
        timeseries("gRPC latency p99 by method", f"99th percentile of gRPC call duration by method; dots are "
                   f"exemplars linking to the trace. {note}",
                   [target(f"histogram_quantile(0.99, {rpc('_bucket', f'{by}, le', sel)})", legend, exemplar=True)],
                   "s", w=w),
    ]  # fmt: skip


# --- the dashboards -------------------------------------------------------------------------------------

SERVICE_LINK = "/d/tienda-service/service-detail?var-service=${__value.raw}&${__url_time_range}"


@dashboard("overview.json", "tienda-overview", "tienda / Shop overview", variables=[service_variable(multi=True)])
def overview() -> list[dict]:
    """RED metrics of every tienda service, SLO burn, and the state of the services and alerts."""
    sel = 'job="tienda", service=~"$service"'
    svc = 'service=~"$service"'
    return [
        stat("Requests / s", "Requests served by the selected services (health and metrics probes excluded).",
             [target(f"sum(rate({HTTP}_count{{{sel}}}{RATE}))")], "reqps"),
        stat("5xx ratio (5m)", "Share of requests answered with a 5xx over 5 minutes; the SLO allows 0.5%.",
             [target(f"sum(service:http_errors:rate5m{{{svc}}}) / sum(service:http_requests:rate5m{{{svc}}})")],
             "percentunit", threshold_steps=thresholds(("green", None), ("red", 0.005))),
        stat("Slowest p99 (5m)", "The highest 99th-percentile latency among the selected services; the SLO is 99% "
             "within 500 ms.", [target(f"max(service:http_request_duration_seconds:p99_5m{{{svc}}})")], "s",
             threshold_steps=thresholds(("green", None), ("orange", 0.25), ("red", 0.5))),
        stat("Targets up", "Share of the selected services Prometheus can scrape right now.",
             [target(f"avg(up{{{sel}}})")], "percentunit",
             threshold_steps=thresholds(("red", None), ("green", 1))),
        stat("In-flight requests", "Requests being handled right now, all selected services.",
             [target(f"sum(http_server_active_requests{{{sel}}})")], "short"),
        stat("Alerts firing", "Prometheus alerts in state firing (all alerts, not only the selected services); "
             "0 when none is.", [target('sum(ALERTS{alertstate="firing"}) or vector(0)')], "short",
             threshold_steps=thresholds(("green", None), ("red", 1))),
        row("Rate, errors, duration"),
        timeseries("Request rate by service", "Requests per second each service served.",
                   [target(f"sum by (service) (rate({HTTP}_count{{{sel}}}{RATE}))", "{{service}}")], "reqps", w=8),
        timeseries("5xx ratio by service (5m)", "Share of each service's requests answered with a 5xx (recording "
                   "rule service:http_errors:ratio_rate5m); dashed line: the 0.5% error budget.",
                   [target(f"service:http_errors:ratio_rate5m{{{svc}}}", "{{service}}")], "percentunit", w=8,
                   limits={"min": 0},
                   threshold_steps=thresholds(("green", None), ("red", float(AVAILABILITY_BUDGET)))),
        timeseries("Latency p99 by service", "99th percentile of request duration per service; dots are "
                   "exemplars linking to the trace in Jaeger.",
                   [target(f"histogram_quantile(0.99, sum by (service, le) (rate({HTTP}_bucket{{{sel}}}{RATE})))",
                           "{{service}}", exemplar=True)], "s", w=8,
                   threshold_steps=thresholds(("green", None), ("red", 0.5))),
        timeseries("Responses by status code", "Answers per second of the selected services by HTTP status.",
                   [target(f"sum by (http_response_status_code) (rate({HTTP}_count{{{sel}}}{RATE}))",
                           "{{http_response_status_code}}")], "reqps", w=8, stack=True),
        timeseries("In-flight requests by service", "Requests being handled at scrape time.",
                   [target(f"sum by (service) (http_server_active_requests{{{sel}}})", "{{service}}")], "short", w=8),
        timeseries("SLO burn rate (1h)", "How many times faster than sustainable each service spends its 30-day "
                   f"error budget, over the last hour. Dashed: {FAST_BURN}, the fast-burn paging threshold "
                   "(together with the 5m window). Details on the SLOs dashboard.",
                   [target(f"service:http_errors:ratio_rate1h{{{svc}}} / {AVAILABILITY_BUDGET}",
                           "{{service}} availability"),
                    target(f"service:http_slow_requests:ratio_rate1h{{{svc}}} / {LATENCY_BUDGET}",
                           "{{service}} latency")], TIMES, w=8, limits={"min": 0},
                   threshold_steps=thresholds(("green", None), ("red", FAST_BURN))),
        row("gRPC"),
        *rpc_panels(sel, "service, rpc_method", "{{service}} {{side}} {{rpc_method}}", w=8),
        row("Services"),
        table("Services", "One row per service: scrape health, running version, and the 5-minute RED recording "
              "rules. Click a service to open its detail dashboard.",
              [("Up", "bool_yes_no", f"max by (service) (up{{{sel}}})"),
               ("Instances", "short", f"count by (service, version) (tienda_build_info{{{sel}}})"),
               ("Requests / s", "reqps", f"service:http_requests:rate5m{{{svc}}}"),
               ("5xx ratio", "percentunit", f"service:http_errors:ratio_rate5m{{{svc}}}"),
               ("p50", "s", f"service:http_request_duration_seconds:p50_5m{{{svc}}}"),
               ("p99", "s", f"service:http_request_duration_seconds:p99_5m{{{svc}}}")],
              w=16, labels=("service", "version"), links={"service": SERVICE_LINK}),
        table("Alerts pending or firing", "Every Prometheus alert that is pending (condition true, waiting for "
              "its `for` duration) or firing, all services. Runbooks: docs/runbooks/<alertname>.md.",
              [("Alerts", "short", "sum by (alertname, alertstate, severity, service) (ALERTS)")], w=8,
              labels=("alertname", "alertstate", "severity", "service")),
    ]  # fmt: skip


@dashboard("service.json", "tienda-service", "tienda / Service detail", variables=[service_variable(multi=False)])
def service_detail() -> list[dict]:
    """One service: per-route traffic, errors and latency (with exemplars), outgoing calls, process health."""
    sel = 'job="tienda", service="$service"'
    svc = 'service="$service"'
    q = f"sum by (le) (rate({HTTP}_bucket{{{sel}}}{RATE}))"
    outgoing = ("Only services that call others have outgoing calls: the gateway (all four upstreams) and orders "
                "(products, payments). Upstreams are named by address and port.")  # fmt: skip
    return [
        stat("Requests / s", "Requests served (health and metrics probes excluded).",
             [target(f"sum(rate({HTTP}_count{{{sel}}}{RATE}))")], "reqps"),
        stat("5xx ratio (5m)", "Share of requests answered with a 5xx over 5 minutes; the SLO allows 0.5%.",
             [target(f"service:http_errors:ratio_rate5m{{{svc}}}")], "percentunit",
             threshold_steps=thresholds(("green", None), ("red", float(AVAILABILITY_BUDGET)))),
        stat("p99 (5m)", "99th-percentile request duration over 5 minutes; the SLO is 99% within 500 ms.",
             [target(f"service:http_request_duration_seconds:p99_5m{{{svc}}}")], "s",
             threshold_steps=thresholds(("green", None), ("orange", 0.25), ("red", 0.5))),
        stat("In-flight requests", "Requests being handled at scrape time.",
             [target(f"sum(http_server_active_requests{{{sel}}})")], "short"),
        stat("Version", "The running build (tienda_build_info).",
             [target(f"max by (version) (tienda_build_info{{{sel}}})", "{{version}}")], "none", text_mode="name"),
        stat("Uptime", "Time since the worker process started.",
             [target(f"time() - max(process_start_time_seconds{{{sel}}})")], "s", decimals=0),
        row("HTTP server"),
        timeseries("Request rate by route", "Requests per second by method and route template.",
                   [target(f"sum by (http_request_method, http_route) (rate({HTTP}_count{{{sel}}}{RATE}))",
                           "{{http_request_method}} {{http_route}}")], "reqps"),
        timeseries("Responses by status code", "Answers per second by HTTP status.",
                   [target(f"sum by (http_response_status_code) (rate({HTTP}_count{{{sel}}}{RATE}))",
                           "{{http_response_status_code}}")], "reqps", stack=True),
        timeseries("Error responses by route and status", "4xx and 5xx answers per second by route and status "
                   "(4xx are the caller's mistakes or business answers such as 402 and 409; 5xx spend the error "
                   "budget). Route `unmatched` is every unknown path.",
                   [target(f"sum by (http_request_method, http_route, http_response_status_code) "
                           f"(rate({HTTP}_count{{{sel}, http_response_status_code=~\"4..|5..\"}}{RATE}))",
                           "{{http_response_status_code}} {{http_request_method}} {{http_route}}")], "reqps"),
        timeseries("5xx ratio by route (5m)", "Share of each route's requests answered with a 5xx (recording rule "
                   "service_route:http_errors:ratio_rate5m).",
                   [target(f"service_route:http_errors:ratio_rate5m{{{svc}}}", "{{http_route}}")], "percentunit",
                   limits={"min": 0}, threshold_steps=thresholds(("green", None), ("red", 0.005))),
        row("Latency"),
        heatmap("Latency distribution", "Requests per second in each duration bucket. Exemplars (dots) open "
                "the trace of a request in that bucket in Jaeger.", q),
        timeseries("Latency p50 / p95 / p99", "Percentiles of request duration over all routes, with exemplars.",
                   [target(f"histogram_quantile(0.5, {q})", "p50"), target(f"histogram_quantile(0.95, {q})", "p95"),
                    target(f"histogram_quantile(0.99, {q})", "p99", exemplar=True)], "s",
                   threshold_steps=thresholds(("green", None), ("red", 0.5))),
        timeseries("Latency p99 by route", "99th percentile of request duration by method and route.",
                   [target(f"histogram_quantile(0.99, sum by (http_request_method, http_route, le) "
                           f"(rate({HTTP}_bucket{{{sel}}}{RATE})))", "{{http_request_method}} {{http_route}}",
                           exemplar=True)], "s"),
        timeseries("In-flight requests by method", "Requests being handled at scrape time; a rising count means "
                   "requests queue for the worker's threads.",
                   [target(f"sum by (http_request_method) (http_server_active_requests{{{sel}}})",
                           "{{http_request_method}}")], "short"),
        row("Outgoing calls"),
        timeseries("Outgoing request rate by upstream", outgoing,
                   [target(f"sum by (server_address, server_port) (rate({CLIENT}_count{{{sel}}}{RATE}))",
                           "{{server_address}}:{{server_port}}")], "reqps", w=8),
        timeseries("Outgoing p99 by upstream", outgoing + " Exemplars link to the calling trace.",
                   [target(f"histogram_quantile(0.99, sum by (server_address, server_port, le) "
                           f"(rate({CLIENT}_bucket{{{sel}}}{RATE})))", "{{server_address}}:{{server_port}}",
                           exemplar=True)], "s", w=8),
        timeseries("Outgoing non-2xx answers by upstream", outgoing + " Status 0 means no answer arrived "
                   "(refused connection, timeout).",
                   [target(f"sum by (server_address, server_port, http_response_status_code) "
                           f"(rate({CLIENT}_count{{{sel}, http_response_status_code!~\"2..\"}}{RATE}))",
                           "{{http_response_status_code}} from {{server_address}}:{{server_port}}")], "reqps", w=8),
        row("gRPC"),
        *rpc_panels(sel, "rpc_method", "{{side}} {{rpc_method}}", w=8),
        row("Process"),
        timeseries("CPU", "CPU time used per second by the worker process (1 = one core).",
                   [target(f"rate(process_cpu_seconds_total{{{sel}}}{RATE})", "{{instance}}")], "percentunit",
                   w=8, limits={"min": 0}),
        timeseries("Resident memory", "Resident set size of the worker process.",
                   [target(f"process_resident_memory_bytes{{{sel}}}", "{{instance}}")], "bytes", w=8),
        timeseries("Garbage collections", "Python garbage collections per second by generation.",
                   [target(f"sum by (generation) (rate(python_gc_collections_total{{{sel}}}{RATE}))",
                           "generation {{generation}}")], "ops", w=8),
        timeseries("Open file descriptors", "Open file descriptors (sockets, database files) against the limit.",
                   [target(f"process_open_fds{{{sel}}}", "open {{instance}}"),
                    target(f"process_max_fds{{{sel}}}", "limit {{instance}}")], "short"),
        timeseries("Spans exported and dropped", "Spans delivered to the OTLP collector per second, and spans "
                   "lost by reason (queue_full, export_failed); see the SpansDropped runbook.",
                   [target(f"sum(rate(tienda_telemetry_spans_exported_total{{{sel}}}{RATE}))", "exported"),
                    target(f"sum by (reason) (rate(tienda_telemetry_spans_dropped_total{{{sel}}}{RATE}))",
                           "dropped {{reason}}")], "ops"),
    ]  # fmt: skip


@dashboard("business.json", "tienda-business", "tienda / Business")
def business() -> list[dict]:
    """What the shop does: orders, revenue, payments, compensations, users."""
    j = 'job="tienda"'
    per_min = f"{RATE})) * 60"
    return [
        stat("Orders confirmed", "Confirmed orders in the selected time range.",
             [target(f'sum(increase(tienda_orders_total{{{j}, outcome="confirmed"}}[$__range]))')], "short",
             decimals=0),
        stat("Revenue", "Total of confirmed orders in the selected time range.",
             [target(f"sum(increase(tienda_order_value_sum{{{j}}}[$__range]))")], "currencyEUR"),
        stat("Average order value", "Revenue divided by confirmed orders, selected time range.",
             [target(f"sum(increase(tienda_order_value_sum{{{j}}}[$__range])) "
                     f"/ sum(increase(tienda_order_value_count{{{j}}}[$__range]))")], "currencyEUR"),
        stat("Orders confirmed / placed", "Share of orders that ended confirmed (the rest: declined, out of "
             "stock, failed), selected time range.",
             [target(f'sum(increase(tienda_orders_total{{{j}, outcome="confirmed"}}[$__range])) '
                     f"/ sum(increase(tienda_orders_total{{{j}}}[$__range]))")], "percentunit",
             threshold_steps=thresholds(("red", None), ("orange", 0.5), ("green", 0.8))),
        stat("Payment decline ratio", "Share of card charges declined in the selected time range; the "
             "PaymentDeclineRatioHigh alert fires above 30% over 10 minutes.",
             [target(f'sum(increase(tienda_payments_total{{{j}, outcome!="approved"}}[$__range])) '
                     f"/ sum(increase(tienda_payments_total{{{j}}}[$__range]))")], "percentunit",
             threshold_steps=thresholds(("green", None), ("red", 0.3))),
        stat("New users", "Accounts registered in the selected time range.",
             [target(f"sum(increase(tienda_users_registered_total{{{j}}}[$__range]))")], "short", decimals=0),
        row("Orders"),
        timeseries("Orders per minute by outcome", "Answers to POST /orders: confirmed, declined (card), "
                   "out_of_stock, failed (the saga could not finish).",
                   [target(f"sum by (outcome) (rate(tienda_orders_total{{{j}}}{per_min}", "{{outcome}}")], "opm",
                   w=8, stack=True),
        timeseries("Revenue per minute", "Value of confirmed orders per minute (rate of tienda_order_value_sum).",
                   [target(f"sum(rate(tienda_order_value_sum{{{j}}}{per_min}", "revenue")], "currencyEUR", w=8),
        timeseries("Order value", "Average value of confirmed orders, and the median and 90th percentile from the "
                   "order value histogram.",
                   [target(f"sum(rate(tienda_order_value_sum{{{j}}}{RATE})) "
                           f"/ sum(rate(tienda_order_value_count{{{j}}}{RATE}))", "average"),
                    target(f"histogram_quantile(0.5, sum by (le) (rate(tienda_order_value_bucket{{{j}}}{RATE})))",
                           "median"),
                    target(f"histogram_quantile(0.9, sum by (le) (rate(tienda_order_value_bucket{{{j}}}{RATE})))",
                           "p90")], "currencyEUR", w=8),
        timeseries("Saga compensations per minute by step", "Completed saga steps undone: release (reserved stock "
                   "given back, e.g. after a declined card) and refund (a charge reversed because a later step "
                   "failed). See the SagaCompensationsSpiking runbook.",
                   [target(f"sum by (step) (rate(tienda_saga_compensations_total{{{j}}}{per_min}", "{{step}}")],
                   "opm", w=8),
        timeseries("Cancellations and refunds per minute", "Confirmed orders cancelled by their owner, and "
                   "payments refunded (by cancellations and by saga compensations).",
                   [target(f"sum(rate(tienda_order_cancellations_total{{{j}}}{per_min}", "cancellations"),
                    target(f"sum(rate(tienda_refunds_total{{{j}}}{per_min}", "refunds")], "opm", w=8),
        timeseries("Stock reservations per minute by outcome", "The products service's reservations: held, "
                   "insufficient_stock, committed, released, returned.",
                   [target(f"sum by (outcome) (rate(tienda_stock_reservations_total{{{j}}}{per_min}",
                           "{{outcome}}")], "opm", w=8),
        row("Payments"),
        timeseries("Payment outcomes per minute", "Card charges by provider answer: approved, card_declined, "
                   "insufficient_funds.",
                   [target(f"sum by (outcome) (rate(tienda_payments_total{{{j}}}{per_min}", "{{outcome}}")], "opm",
                   stack=True),
        timeseries("Payment decline ratio", "Share of card charges declined; dashed: the 30% alert threshold.",
                   [target(f'sum(rate(tienda_payments_total{{{j}, outcome!="approved"}}{RATE})) '
                           f"/ sum(rate(tienda_payments_total{{{j}}}{RATE}))", "declined")], "percentunit",
                   limits={"min": 0, "max": 1}, threshold_steps=thresholds(("green", None), ("red", 0.3))),
        row("Users"),
        timeseries("Registrations and logins per minute", "Accounts created, and login attempts by outcome.",
                   [target(f"sum(rate(tienda_users_registered_total{{{j}}}{per_min}", "registrations"),
                    target(f"sum by (outcome) (rate(tienda_logins_total{{{j}}}{per_min}", "logins {{outcome}}")],
                   "opm"),
        timeseries("Gateway partial answers per minute", "Answers the gateway gave without the part an upstream "
                   "failed to provide (order details without payments).",
                   [target(f"sum by (upstream) (rate(tienda_gateway_partial_responses_total{{{j}}}{per_min}",
                           "{{upstream}}")], "opm"),
    ]  # fmt: skip


#: The audit alerts' thresholds (prometheus/rules/alerts.yml): AuditNotRunning after five minutes without a run.
AUDIT_STALE_SECONDS = 300


@dashboard("integrity.json", "tienda-integrity", "tienda / Integrity")
def integrity() -> list[dict]:
    """Is every cent and every unit of stock accounted for: the integrity audit's violations by invariant, its
    runs, and the faults injected on purpose across the shop."""
    j = 'job="tienda"'
    violations = f"tienda_audit_violations{{{j}}}"
    since_last_run = f"time() - max(tienda_audit_last_run_timestamp_seconds{{{j}}})"
    faults = f"tienda_faults_injected_total{{{j}}}"
    stale = thresholds(("green", None), ("orange", AUDIT_STALE_SECONDS / 5), ("red", AUDIT_STALE_SECONDS))
    return [
        stat("Violations now", "Violations of every invariant found by the audit's last completed run; "
             "InvariantViolated pages when one lasts a minute.",
             [target(f"sum({violations})")], "short", decimals=0,
             threshold_steps=thresholds(("green", None), ("red", 1))),
        stat("Time since the last audit run", "Seconds since the audit last completed a run (it runs every "
             f"AUDIT_INTERVAL_SECONDS, 30 s by default); AuditNotRunning files a ticket past {AUDIT_STALE_SECONDS} s.",
             [target(since_last_run)], "s", threshold_steps=stale),
        stat("Failed audit runs", "Audit runs in the selected time range that could not read orders, payments "
             "or products; a failed run publishes nothing, so the violation counts are as old as the last run.",
             [target(f'sum(increase(tienda_audit_runs_total{{{j}, result="failed"}}[$__range]))')], "short",
             decimals=0, threshold_steps=thresholds(("green", None), ("orange", 1))),
        stat("Faults injected", "Faults injected on purpose (docs/faults.md) in the selected time range, every "
             "service; 0 when none is set.",
             [target(f"sum(increase({faults}[$__range])) or vector(0)")], "short", decimals=0,
             threshold_steps=thresholds(("green", None), ("orange", 1))),
        row("The audit"),
        timeseries("Violations by invariant", "What the last audit run found, per invariant: stock_conserved, "
                   "charge_has_confirmed_order, confirmed_order_charged_once, held_stock_has_unfinished_order, "
                   "committed_stock_has_confirmed_order, order_finished_within_bound. Anything above 0 is money or "
                   "stock lost; the audit service's "
                   "GET /audit/report names each order, charge, reservation or product.",
                   [target(f"max by (invariant) ({violations})", "{{invariant}}")], "short", w=8,
                   limits={"min": 0, "decimals": 0}, threshold_steps=thresholds(("green", None), ("red", 1))),
        timeseries("Audit runs per minute by result", "clean (every invariant holds), violations (at least one "
                   "does not), failed (a service could not be read).",
                   [target(f"sum by (result) (rate(tienda_audit_runs_total{{{j}}}{RATE})) * 60", "{{result}}")],
                   "opm", w=8, stack=True),
        timeseries("Audit staleness", "Seconds since the audit last completed a run. Dashed: "
                   f"{AUDIT_STALE_SECONDS} s, where AuditNotRunning starts counting its five minutes.",
                   [target(since_last_run, "since the last run")], "s", w=8, limits={"min": 0},
                   threshold_steps=thresholds(("green", None), ("red", AUDIT_STALE_SECONDS))),
        row("Faults injected"),
        timeseries("Faults injected per minute by service and kind", "tienda_faults_injected_total: latency, "
                   "error, hang and drop faults set through FAULTS or /api/v1/admin/faults/<service>, by the "
                   "service that injected them and the rule's target.",
                   [target(f"sum by (service, fault, target) (rate({faults}{RATE})) * 60",
                           "{{service}} {{fault}} {{target}}")], "opm", w=16, stack=True),
        table("Faults injected by rule", "Per service and rule: faults injected in the selected time range.",
              [("Injected", "short", f"sum by (service, fault, target) (increase({faults}[$__range]))")],
              w=8, labels=("service", "fault", "target")),
    ]  # fmt: skip


@dashboard("resilience.json", "tienda-resilience", "tienda / Resilience")
def resilience() -> list[dict]:
    """How the shop takes a failing dependency: circuit breakers, retries, timeouts and bulkheads per upstream
    (telemetry/resilience.py), stale product reads and the Redis cache, the events' outbox, queue and consumer,
    and the faults injected meanwhile (docs/faults.md)."""
    j = 'job="tienda"'
    by = "sum by (service, upstream)"
    faults = f"tienda_faults_injected_total{{{j}}}"
    cache = f"tienda_cache_requests_total{{{j}}}"
    return [
        stat("Open breakers", "Circuit breakers open or half-open now, across every caller and upstream; while "
             "one is open its caller answers 503 with Retry-After at once, without calling.",
             [target(f"count(tienda_breaker_state{{{j}}} > 0) or vector(0)")], "short", decimals=0,
             threshold_steps=thresholds(("green", None), ("red", 1))),
        stat("Cache hit ratio", "Share of product reads answered from Redis in the selected time range (products "
             "with REDIS_URL); errors are reads Redis failed, answered from the database.",
             [target(f'sum(increase(tienda_cache_requests_total{{{j}, result="hit"}}[$__range])) '
                    f"/ sum(increase({cache}[$__range]))")],
             "percentunit", decimals=1),
        stat("Outbox backlog", "Events recorded in the same transaction as their change and not yet confirmed by "
             "the broker, every service; it grows while RabbitMQ is down and drains when it is back.",
             [target(f"sum(tienda_outbox_backlog{{{j}}})")], "short", decimals=0,
             threshold_steps=thresholds(("green", None), ("orange", 100))),
        stat("Faults injected", "Faults injected on purpose (docs/faults.md) in the selected time range.",
             [target(f"sum(increase({faults}[$__range])) or vector(0)")], "short", decimals=0,
             threshold_steps=thresholds(("green", None), ("orange", 1))),
        row("Calls between services"),
        timeseries("Breaker state by upstream", "tienda_breaker_state per caller and upstream: 0 closed, 1 "
                   "half-open (one trial call), 2 open (calls refused for BREAKER_RESET_SECONDS).",
                   [target(f"max by (service, upstream) (tienda_breaker_state{{{j}}})", "{{service}} → {{upstream}}")],
                   "short", w=8, limits={"min": 0, "max": 2, "decimals": 0},
                   threshold_steps=thresholds(("green", None), ("orange", 1), ("red", 2))),
        timeseries("Breaker transitions per minute", "Changes of state by caller, upstream and new state: "
                   "open after BREAKER_FAILURE_THRESHOLD consecutive failures, half_open after the reset, closed "
                   "when the trial call succeeds.",
                   [target(f"sum by (service, upstream, to) (rate(tienda_breaker_transitions_total{{{j}}}{RATE})) * 60",
                           "{{service}} → {{upstream}} {{to}}")], "opm", w=8),
        timeseries("Retries per minute by upstream", "Attempts after the first of idempotent calls (GET, or with "
                   "an Idempotency-Key), after a refused connection, a timeout or a 429/502/503/504.",
                   [target(f"{by} (rate(tienda_http_client_retries_total{{{j}}}{RATE})) * 60",
                           "{{service}} → {{upstream}}")], "opm", w=8),
        timeseries("Timeouts per minute by upstream", "Outgoing attempts that timed out (connect or read), "
                   "the timeout capped by the request's remaining deadline budget.",
                   [target(f"{by} (rate(tienda_http_client_timeouts_total{{{j}}}{RATE})) * 60",
                           "{{service}} → {{upstream}}")], "opm", w=8),
        timeseries("Bulkhead rejections per minute", "Calls refused at once because BULKHEAD_MAX_CONCURRENT calls "
                   "to the upstream were in flight (never queued).",
                   [target(f"{by} (rate(tienda_bulkhead_rejections_total{{{j}}}{RATE})) * 60",
                           "{{service}} → {{upstream}}")], "opm", w=8),
        timeseries("Calls in flight by upstream", "tienda_bulkhead_in_flight: outgoing attempts in flight now, "
                   "against the bulkhead's limit.",
                   [target(f"{by} (tienda_bulkhead_in_flight{{{j}}})", "{{service}} → {{upstream}}")], "short",
                   w=8, limits={"min": 0}),
        row("Degraded answers and the cache"),
        timeseries("Cache requests per minute by result", "Product reads at products: hit (Redis), miss (the "
                   "database, then stored for PRODUCT_CACHE_TTL_SECONDS), error (Redis failed: the database).",
                   [target(f"sum by (result) (rate({cache}{RATE})) * 60", "{{result}}")], "opm", w=12,
                   stack=True),
        timeseries("Stale product answers per minute", "Product reads the gateway answered with the last good "
                   "answer, marked X-Tienda-Stale, because products failed.",
                   [target(f"sum by (route) (rate(tienda_gateway_stale_answers_total{{{j}}}{RATE})) * 60",
                           "{{route}}")], "opm", w=12),
        row("Events"),
        timeseries("Outbox backlog and oldest event", "Events not yet confirmed by the broker, and the age of "
                   "the oldest, per service.",
                   [target(f"sum by (service) (tienda_outbox_backlog{{{j}}})", "{{service}} backlog"),
                    target(f"max by (service) (tienda_outbox_oldest_age_seconds{{{j}}})", "{{service}} oldest (s)")],
                   "short", w=8, limits={"min": 0}),
        timeseries("Queue depth", "Messages waiting in each queue (the consumer's, its retry and its dead "
                   "letters), as notifications reads it.",
                   [target(f"max by (queue) (tienda_queue_depth{{{j}}})", "{{queue}}")], "short", w=8,
                   limits={"min": 0}),
        timeseries("Events published and consumed per minute", "Published and confirmed by the relay, consumed "
                   "by notifications, per event type.",
                   [target(f"sum(rate(tienda_events_published_total{{{j}}}{RATE})) * 60", "published"),
                    target(f"sum(rate(tienda_events_confirmed_total{{{j}}}{RATE})) * 60", "confirmed"),
                    target(f"sum(rate(tienda_events_consumed_total{{{j}}}{RATE})) * 60", "consumed")], "opm", w=8),
        timeseries("Duplicates, retries and dead letters per minute", "Redelivered events recognised by id and "
                   "ignored, failed messages sent to retry, and those dead-lettered after their last try.",
                   [target(f"sum(rate(tienda_events_duplicates_total{{{j}}}{RATE})) * 60", "duplicates"),
                    target(f"sum(rate(tienda_events_retried_total{{{j}}}{RATE})) * 60", "retried"),
                    target(f"sum(rate(tienda_events_dead_lettered_total{{{j}}}{RATE})) * 60", "dead-lettered")],
                   "opm", w=12),
        timeseries("Faults injected per minute by service and rule", "tienda_faults_injected_total while a fault "
                   "scenario runs, by the service that injected it, its kind and target.",
                   [target(f"sum by (service, fault, target) (rate({faults}{RATE})) * 60",
                           "{{service}} {{fault}} {{target}}")], "opm", w=12, stack=True),
    ]  # fmt: skip


def _budget_remaining(bad: str, budget: str, svc: str) -> str:
    """Share of the 30-day budget left, from the 5m recording rules summed over 30 days (traffic-weighted)."""
    return (f"1 - (sum by (service) (sum_over_time({bad}{{{svc}}}[30d])) "
            f"/ sum by (service) (sum_over_time(service:http_requests:rate5m{{{svc}}}[30d]))) / {budget}")  # fmt: skip


@dashboard("slo.json", "tienda-slo", "tienda / SLOs", variables=[service_variable(multi=True)])
def slo() -> list[dict]:
    """Per service: availability (99.5% without 5xx) and latency (99% within 500 ms) SLIs, 30-day error budget
    left, and burn rates over the windows the alerts use."""
    svc = 'service=~"$service"'
    windows = ("5m", "30m", "1h", "6h")
    burn = thresholds(("green", None), ("orange", SLOW_BURN), ("red", FAST_BURN))
    budget_steps = thresholds(("red", None), ("orange", 0.25), ("green", 0.5))
    avail_30d = (f"1 - sum by (service) (sum_over_time(service:http_errors:rate5m{{{svc}}}[30d])) "
                 f"/ sum by (service) (sum_over_time(service:http_requests:rate5m{{{svc}}}[30d]))")  # fmt: skip
    latency_30d = (f"1 - sum by (service) (sum_over_time(service:http_slow_requests:rate5m{{{svc}}}[30d])) "
                   f"/ sum by (service) (sum_over_time(service:http_requests:rate5m{{{svc}}}[30d]))")  # fmt: skip
    return [
        bargauge("Availability error budget remaining (30 days)", "Share of the 30-day availability budget (0.5% "
                 "of requests may fail with a 5xx) not yet spent. Approximated from the 5m recording rules "
                 "summed over 30 days (as much history as Prometheus keeps); below 0 the SLO is missed.",
                 [target(_budget_remaining("service:http_errors:rate5m", AVAILABILITY_BUDGET, svc), "{{service}}")],
                 "percentunit", limits={"min": 0, "max": 1}, steps=budget_steps),
        bargauge("Latency error budget remaining (30 days)", "Share of the 30-day latency budget (1% of requests "
                 "may take longer than 500 ms) not yet spent, approximated like the availability budget.",
                 [target(_budget_remaining("service:http_slow_requests:rate5m", LATENCY_BUDGET, svc),
                         "{{service}}")], "percentunit", limits={"min": 0, "max": 1}, steps=budget_steps),
        row("SLIs"),
        timeseries("Availability SLI (1h) vs 99.5% objective", "Share of requests answered without a 5xx over the "
                   "last hour (1 - service:http_errors:ratio_rate1h); dashed: the objective.",
                   [target(f"1 - service:http_errors:ratio_rate1h{{{svc}}}", "{{service}}")], "percentunit",
                   limits={"max": 1}, threshold_steps=thresholds(("red", None), ("green", AVAILABILITY_OBJECTIVE))),
        timeseries("Latency SLI (1h) vs 99% within 500 ms", "Share of requests answered within 500 ms over the last "
                   "hour (1 - service:http_slow_requests:ratio_rate1h); dashed: the objective.",
                   [target(f"1 - service:http_slow_requests:ratio_rate1h{{{svc}}}", "{{service}}")], "percentunit",
                   limits={"max": 1}, threshold_steps=thresholds(("red", None), ("green", LATENCY_OBJECTIVE))),
        row("Burn rates (1 = spending the budget exactly in 30 days)"),
        timeseries("Availability burn rate by window", f"5xx ratio divided by the 0.5% budget, over the alert "
                   f"windows. Pages when 1h and 5m are both above {FAST_BURN}, or 6h and 30m both above "
                   f"{SLOW_BURN} (AvailabilityBudgetBurnFast / Slow).",
                   [target(f"service:http_errors:ratio_rate{w}{{{svc}}} / {AVAILABILITY_BUDGET}",
                           f"{{{{service}}}} {w}") for w in windows], TIMES, limits={"min": 0}, threshold_steps=burn),
        timeseries("Latency burn rate by window", f"Share of requests slower than 500 ms divided by the 1% budget, "
                   f"over the alert windows. Pages when 1h and 5m are both above {FAST_BURN}, or 6h and 30m both "
                   f"above {SLOW_BURN} (LatencyBudgetBurnFast / Slow).",
                   [target(f"service:http_slow_requests:ratio_rate{w}{{{svc}}} / {LATENCY_BUDGET}",
                           f"{{{{service}}}} {w}") for w in windows], TIMES, limits={"min": 0}, threshold_steps=burn),
        row("Summary"),
        table("SLOs by service", "30-day SLIs and budgets (approximated from the 5m recording rules) and the "
              "current 1h burn rates. Click a service to open its detail dashboard.",
              [("Availability (30d)", "percentunit", avail_30d),
               ("Availability budget left", "percentunit",
                _budget_remaining("service:http_errors:rate5m", AVAILABILITY_BUDGET, svc)),
               ("Availability burn (1h)", TIMES, f"service:http_errors:ratio_rate1h{{{svc}}} / {AVAILABILITY_BUDGET}"),
               ("Within 500 ms (30d)", "percentunit", latency_30d),
               ("Latency budget left", "percentunit",
                _budget_remaining("service:http_slow_requests:rate5m", LATENCY_BUDGET, svc)),
               ("Latency burn (1h)", TIMES, f"service:http_slow_requests:ratio_rate1h{{{svc}}} / {LATENCY_BUDGET}")],
              labels=("service",), links={"service": SERVICE_LINK}),
    ]  # fmt: skip


def render() -> dict[str, str]:
    """File name -> the JSON text of each dashboard, as committed in dashboards/json/."""
    return {name: json.dumps(build(), indent=2, ensure_ascii=False) + "\n" for name, build in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="fail if dashboards/json/ is out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = OUT / name
        if path.exists() and path.read_text() == text:
            continue
        stale.append(name)
        if not args.check:
            OUT.mkdir(exist_ok=True)
            path.write_text(text)
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run python dashboards/build.py", file=sys.stderr)
        return 1
    print("\n".join(f"wrote dashboards/json/{name}" for name in stale) if stale else "dashboards are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
