"""Fault injection in a real gunicorn worker: set by FAULTS, changed over /admin/faults, seen in logs and metrics."""

import json

import pytest
import requests


def _log(service):
    return [json.loads(line) for line in service.log_lines() if line.startswith("{")]


def _injected(service, fault, target):
    text = requests.get(service.url + "/metrics", timeout=5).text
    line = f'tienda_faults_injected_total{{fault="{fault}",target="{target}"}}'
    values = [float(row.rsplit(" ", 1)[1]) for row in text.splitlines() if row.startswith(line)]
    return values[0] if values else None


def test_a_dropped_response_under_gunicorn_leaves_the_work_done_and_the_client_unanswered(start_sample):
    rules = [{"target": "POST /login", "fault": "drop"}]
    service = start_sample("dropper", FAULTS=json.dumps(rules))
    with pytest.raises(requests.ConnectionError):
        requests.post(service.url + "/login", json={}, timeout=5)
    assert requests.get(service.url + "/items/1", timeout=5).status_code == 200  # the worker is fine
    lines = _log(service)
    assert [r["event"] for r in lines if r.get("event") in ("login", "fault.injected")] == ["fault.injected", "login"]
    assert _injected(service, "drop", "POST /login") == 1
    assert [r for r in lines if r["level"] in ("ERROR", "CRITICAL")] == []  # a client gone away, not a failure


def test_faults_are_replaced_at_run_time_through_the_admin_endpoint(start_sample):
    service = start_sample("switchable")
    admin = service.url + "/admin/faults"
    assert requests.get(admin, timeout=5).json() == {"service": "switchable", "faults": []}
    rule = {"target": "GET /items/{item_id}", "fault": "error", "status": 503, "ratio": 1.0}
    assert requests.put(admin, json={"faults": [rule]}, timeout=5).json()["faults"] == [rule]
    response = requests.get(service.url + "/items/1", timeout=5)
    assert response.status_code == 503 and response.json()["error"]["code"] == "fault_injected"
    assert requests.delete(admin, timeout=5).json()["faults"] == []
    assert requests.get(service.url + "/items/1", timeout=5).status_code == 200
    assert _injected(service, "error", "GET /items/{item_id}") == 1
    assert [r["target"] for r in _log(service) if r.get("event") == "fault.injected"] == ["GET /items/{item_id}"]


def test_an_upstream_fault_in_the_caller_loses_the_answer_the_callee_gave(start_sample):
    backend = start_sample("backend")
    rules = [{"target": "upstream:downstream GET /items/{item_id}", "fault": "drop"}]
    frontend = start_sample("frontend", SAMPLE_DOWNSTREAM_URL=backend.url, FAULTS=json.dumps(rules))
    assert requests.get(frontend.url + "/chain", timeout=5).status_code == 500  # the sample maps nothing
    assert [r["path"] for r in _log(backend) if r.get("event") == "http.access"] == ["/items/7"]
    assert _injected(frontend, "drop", "upstream:downstream GET /items/{item_id}") == 1


def test_a_service_in_production_refuses_to_start_with_faults(start_sample):
    with pytest.raises(RuntimeError, match="FAULTS_ENABLED=true"):
        start_sample("refuser", TIENDA_ENV="production", FAULTS=json.dumps([{"target": "GET /x", "fault": "drop"}]))
