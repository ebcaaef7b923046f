"""Fault injection (telemetry.faults): the rules, the incoming and outgoing hooks, the admin endpoint."""

import json
import threading

import pytest
import requests
from opentelemetry.trace import SpanKind, StatusCode
from werkzeug.serving import make_server

from telemetry import faults as faults_module
from telemetry.config import ConfigError, TelemetryConfig
from telemetry.faults import Faults, FaultSpecError, FaultsRefused, parse_rules
from telemetry.http import Client

INJECTED = "tienda_faults_injected_total"


@pytest.fixture
def sleeps(monkeypatch):
    """Every sleep a fault takes, recorded instead of slept."""
    taken = []
    monkeypatch.setattr(faults_module.time, "sleep", taken.append)
    return taken


@pytest.fixture
def served(make_harness):
    """The sample app behind a real threaded werkzeug server, so a dropped connection is a real one."""
    servers = []

    def serve(**env):
        h = make_harness(**env)
        server = make_server("127.0.0.1", 0, h.app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return h, f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server in servers:
        server.shutdown()


def _faults_env(*rules):
    return {"FAULTS": json.dumps(list(rules))}


def _fault_logs(h):
    return [r for r in h.logs() if r.get("event") == "fault.injected"]


def _logins(h):
    return [r for r in h.logs() if r.get("event") == "login"]


# The rules


def test_a_rule_is_kept_in_its_canonical_form_with_only_the_fields_of_its_kind():
    (rule,) = parse_rules([{"target": "get /items/<int:item_id>", "fault": "error", "status": 502, "ratio": 0.5}])
    assert rule.to_dict() == {"target": "GET /items/{item_id}", "fault": "error", "ratio": 0.5, "status": 502}


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ({"target": "POST /payments", "fault": "slow"}, "fault"),
        ({"target": "/payments", "fault": "drop"}, "target"),
        ({"target": "FETCH /payments", "fault": "drop"}, "target"),
        ({"target": "upstream:pay ments", "fault": "drop"}, "target"),
        ({"target": "POST /payments", "fault": "latency"}, "delay_seconds or jitter_seconds"),
        ({"target": "POST /payments", "fault": "latency", "delay_seconds": 301}, "delay_seconds"),
        ({"target": "POST /payments", "fault": "error", "status": 200}, "status"),
        ({"target": "POST /payments", "fault": "error", "ratio": 0}, "ratio"),
        ({"target": "POST /payments", "fault": "drop", "status": 503}, "status not allowed"),
        ({"target": "POST /payments", "fault": "hang", "hang_seconds": 3600}, "hang_seconds"),
        ({"target": "PUT /admin/faults", "fault": "error"}, "cannot be faulted"),
    ],
)
def test_a_malformed_rule_is_refused_naming_the_rule_and_the_field(rule, named):
    with pytest.raises(FaultSpecError, match=r"faults\[0\]") as raised:
        parse_rules([rule])
    assert named in str(raised.value)


def test_two_rules_of_one_kind_for_one_target_are_refused():
    rule = {"target": "POST /payments", "fault": "error"}
    with pytest.raises(FaultSpecError, match="second error fault"):
        parse_rules([rule, {**rule, "target": "post /payments"}])


def test_malformed_faults_in_the_environment_are_a_config_error_naming_faults():
    with pytest.raises(ConfigError, match="FAULTS"):
        TelemetryConfig.from_env("x", env={"FAULTS": "[{not json"})
    with pytest.raises(ConfigError, match=r"FAULTS .*faults\[0\]\.fault"):
        TelemetryConfig.from_env("x", env={"FAULTS": '[{"target": "GET /x", "fault": "slow"}]'})


def test_faults_are_off_by_default_and_allowed_outside_production():
    config = TelemetryConfig.from_env("x", env={})
    assert config.faults == () and config.faults_allowed is True
    assert TelemetryConfig.from_env("x", env={"TIENDA_ENV": "production"}).faults_allowed is False


def test_faults_are_refused_in_production_unless_explicitly_enabled():
    rules = json.dumps([{"target": "GET /x", "fault": "drop"}])
    with pytest.raises(ConfigError, match="FAULTS_ENABLED=true"):
        TelemetryConfig.from_env("x", env={"TIENDA_ENV": "production", "FAULTS": rules})
    config = TelemetryConfig.from_env("x", env={"TIENDA_ENV": "production", "FAULTS": rules, "FAULTS_ENABLED": "true"})
    assert [rule.target for rule in config.faults] == ["GET /x"]


def test_setting_faults_where_they_are_not_allowed_raises():
    with pytest.raises(FaultsRefused):
        Faults("x", allowed=False).set([{"target": "GET /x", "fault": "drop"}])


def test_a_ratio_applies_the_fault_to_that_share_of_requests(monkeypatch):
    (rule,) = parse_rules([{"target": "GET /x", "fault": "error", "ratio": 0.25}])
    rolls = iter([0.1, 0.3, 0.24, 0.9])
    monkeypatch.setattr(faults_module.random, "random", lambda: next(rolls))
    assert [rule.applies() for _ in range(4)] == [True, False, True, False]


# Incoming routes


def test_an_error_fault_answers_its_status_without_running_the_handler(make_harness):
    h = make_harness(**_faults_env({"target": "POST /login", "fault": "error", "status": 503}))
    response = h.client.post("/login")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "fault_injected"
    assert _logins(h) == []
    assert h.client.get("/items/1").status_code == 200  # other routes are untouched


def test_every_injected_fault_is_logged_counted_and_marked_on_the_span(make_harness):
    h = make_harness(**_faults_env({"target": "GET /items/<int:item_id>", "fault": "error", "status": 500}))
    labels = {"fault": "error", "target": "GET /items/{item_id}"}
    assert h.sample(INJECTED, labels) == 0  # present at zero from the start
    h.client.get("/items/1")
    h.client.get("/items/2")
    assert h.sample(INJECTED, labels) == 2
    logs = _fault_logs(h)
    assert [(r["fault"], r["target"], r["level"]) for r in logs] == [("error", "GET /items/{item_id}", "WARNING")] * 2
    assert all(r["trace_id"] for r in logs)
    span = h.spans()[-1]
    assert [e.name for e in span.events] == ["fault.injected"]
    assert span.attributes["http.response.status_code"] == 500


def test_a_latency_fault_delays_the_handler_by_the_delay_plus_some_jitter(make_harness, sleeps):
    rule = {"target": "GET /items/{item_id}", "fault": "latency", "delay_seconds": 7, "jitter_seconds": 0.5}
    h = make_harness(**_faults_env(rule))
    assert h.client.get("/items/3").get_json()["id"] == 3
    (slept,) = sleeps
    assert 7 <= slept <= 7.5


def test_a_route_template_written_either_way_targets_the_same_route(make_harness):
    h = make_harness()
    h.telemetry.faults.set([{"target": "GET /items/{item_id}", "fault": "error", "status": 418}])
    assert h.client.get("/items/9").status_code == 418


def test_a_dropped_response_runs_the_handler_and_closes_the_connection_unanswered(served):
    h, url = served(**_faults_env({"target": "POST /login", "fault": "drop"}))
    with pytest.raises(requests.ConnectionError):
        requests.post(url + "/login", json={}, timeout=5)
    assert len(_logins(h)) == 1
    assert requests.get(url + "/items/1", timeout=5).status_code == 200


def test_a_hang_holds_the_request_then_closes_it_unanswered_without_running_the_handler(served, sleeps):
    h, url = served(**_faults_env({"target": "POST /login", "fault": "hang", "hang_seconds": 12}))
    with pytest.raises(requests.ConnectionError):
        requests.post(url + "/login", json={}, timeout=5)
    assert sleeps == [12]
    assert _logins(h) == []


def test_latency_adds_up_and_the_first_other_fault_decides(make_harness, sleeps):
    h = make_harness(
        **_faults_env(
            {"target": "POST /login", "fault": "latency", "delay_seconds": 2},
            {"target": "POST /login", "fault": "error", "status": 502},
        )
    )
    assert h.client.post("/login").status_code == 502
    assert sleeps == [2]
    assert [r["fault"] for r in _fault_logs(h)] == ["latency", "error"]


def test_probes_and_metrics_are_never_faulted(make_harness):
    h = make_harness()
    h.telemetry.faults.set(
        [{"target": "GET /metrics", "fault": "error"}, {"target": "GET /health/live", "fault": "error"}]
    )
    assert h.client.get("/metrics").status_code == 200
    assert h.client.get("/health/live").status_code == 200


# The runtime API and its endpoint


def test_faults_are_replaced_listed_and_cleared_at_run_time(make_harness):
    h = make_harness()
    faults = h.telemetry.faults
    faults.set([{"target": "POST /login", "fault": "error"}])
    assert h.client.post("/login").status_code == 503
    faults.set([{"target": "GET /items/{item_id}", "fault": "error", "status": 500}])
    assert [rule.target for rule in faults.list()] == ["GET /items/{item_id}"]
    assert h.client.post("/login").status_code == 200
    faults.clear()
    assert faults.list() == () and h.client.get("/items/1").status_code == 200


def test_the_admin_endpoint_shows_replaces_and_clears_the_rules(make_harness):
    h = make_harness()
    rule = {"target": "POST /login", "fault": "error", "status": 429}
    assert h.client.get("/admin/faults").get_json() == {"service": "sample", "faults": []}
    put = h.client.put("/admin/faults", json={"faults": [rule]})
    assert put.status_code == 200
    assert put.get_json()["faults"] == [{**rule, "ratio": 1.0}]
    assert h.client.post("/login").status_code == 429
    assert h.client.delete("/admin/faults").get_json()["faults"] == []
    assert h.client.post("/login").status_code == 200


def test_the_admin_endpoint_refuses_a_bad_rule_and_keeps_the_old_ones(make_harness):
    h = make_harness()
    h.client.put("/admin/faults", json=[{"target": "POST /login", "fault": "drop"}])
    response = h.client.put("/admin/faults", json=[{"target": "POST /login", "fault": "error", "status": 99}])
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_faults"
    assert "faults[0].status" in response.get_json()["error"]["message"]
    assert [r["fault"] for r in h.client.get("/admin/faults").get_json()["faults"]] == ["drop"]


def test_the_admin_endpoint_does_not_exist_in_production(make_harness):
    h = make_harness(TIENDA_ENV="production")
    assert h.client.get("/admin/faults").status_code == 404
    assert h.client.put("/admin/faults", json=[]).status_code == 404


def test_the_admin_endpoint_exists_in_production_when_explicitly_enabled(make_harness):
    h = make_harness(TIENDA_ENV="production", FAULTS_ENABLED="true")
    assert h.client.get("/admin/faults").status_code == 200


# Outgoing upstreams


def _client(h, upstream, **kwargs):
    return Client(upstream.url, telemetry=h.telemetry, name="payments", **kwargs)


def _client_span(h):
    (span,) = [s for s in h.spans() if s.kind is SpanKind.CLIENT]
    return span


def test_an_upstream_error_fault_answers_without_sending(make_harness, upstream):
    h = make_harness(**_faults_env({"target": "upstream:payments", "fault": "error", "status": 503}))
    response = _client(h, upstream).post("/payments", json={}, route="/payments")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "fault_injected"
    assert upstream.requests == []
    assert _client_span(h).attributes["http.response.status_code"] == 503
    assert h.sample(INJECTED, {"fault": "error", "target": "upstream:payments"}) == 1


def test_an_upstream_drop_sends_the_call_and_loses_the_answer(make_harness, upstream):
    h = make_harness(**_faults_env({"target": "upstream:payments POST /payments", "fault": "drop"}))
    with pytest.raises(requests.ConnectionError):
        _client(h, upstream).post("/payments", json={}, route="/payments")
    assert [path for _, path, _ in upstream.requests] == ["/payments"]
    span = _client_span(h)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ConnectionError"


def test_an_upstream_rule_for_one_route_leaves_the_upstreams_other_routes_alone(make_harness, upstream):
    h = make_harness(**_faults_env({"target": "upstream:payments POST /payments/{id}/refund", "fault": "drop"}))
    upstream.script(201)
    assert _client(h, upstream).post("/payments", json={}, route="/payments").status_code == 201
    with pytest.raises(requests.ConnectionError):
        _client(h, upstream).post("/payments/4/refund", json={}, route="/payments/{id}/refund")


def test_an_upstream_hang_sends_nothing_and_times_out_after_the_read_timeout(make_harness, upstream, sleeps):
    h = make_harness(**_faults_env({"target": "upstream:payments", "fault": "hang", "hang_seconds": 60}))
    with pytest.raises(requests.ReadTimeout):
        _client(h, upstream, read_timeout_seconds=4).post("/payments", json={})
    assert sleeps == [4]
    assert upstream.requests == []


def test_upstream_latency_past_the_read_timeout_is_a_timeout_after_the_work_was_done(make_harness, upstream, sleeps):
    h = make_harness(**_faults_env({"target": "upstream:payments", "fault": "latency", "delay_seconds": 7}))
    with pytest.raises(requests.ReadTimeout):
        _client(h, upstream, read_timeout_seconds=5).post("/payments", json={})
    assert [path for _, path, _ in upstream.requests] == ["/payments"]
    assert sleeps == [5]


def test_upstream_latency_within_the_read_timeout_delays_the_answer(make_harness, upstream, sleeps):
    h = make_harness(**_faults_env({"target": "upstream:payments", "fault": "latency", "delay_seconds": 2}))
    upstream.script(201)
    assert _client(h, upstream, read_timeout_seconds=5).post("/payments", json={}).status_code == 201
    assert sleeps == [2]


def test_a_client_of_another_upstream_is_not_faulted(make_harness, upstream):
    h = make_harness(**_faults_env({"target": "upstream:products", "fault": "error"}))
    upstream.script(201)
    assert _client(h, upstream).post("/payments", json={}).status_code == 201
    assert _fault_logs(h) == []
