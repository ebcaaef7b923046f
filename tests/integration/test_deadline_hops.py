"""The deadline budget across real gunicorn processes: an entry, a middle hop and a last hop."""

import json

import requests

HEADER = "X-Request-Budget-Ms"


def _chain(start_sample, entry_env=None, last_env=None):
    last = start_sample("last", **(last_env or {}))
    middle = start_sample("middle", SAMPLE_DOWNSTREAM_URL=last.url)
    entry = start_sample("entry", SAMPLE_DOWNSTREAM_URL=middle.url, **(entry_env or {}))
    return entry, middle, last


def _hops(body):
    while body is not None:
        yield body["service"], body["remaining_ms"]
        body = body.get("downstream")


def test_the_budget_given_at_the_entry_shrinks_at_every_hop(start_sample):
    entry, _, _ = _chain(start_sample, entry_env={"REQUEST_BUDGET_SECONDS": "8"})
    response = requests.get(entry.url + "/budget", timeout=10)
    assert response.status_code == 200
    hops = list(_hops(response.json()))
    assert [service for service, _ in hops] == ["entry", "middle", "last"]
    budgets = [remaining for _, remaining in hops]
    assert 0 < budgets[2] <= budgets[1] <= budgets[0] <= 8000


def test_a_client_s_shorter_budget_is_the_one_every_hop_keeps(start_sample):
    entry, _, _ = _chain(start_sample, entry_env={"REQUEST_BUDGET_SECONDS": "8"})
    body = requests.get(entry.url + "/budget", headers={HEADER: "3000"}, timeout=10).json()
    assert all(0 < remaining <= 3000 for _, remaining in _hops(body))


def test_a_call_is_refused_without_sending_when_the_budget_is_gone(start_sample):
    entry, middle, last = _chain(start_sample)
    response = requests.get(entry.url + "/budget", headers={HEADER: "0"}, timeout=10)
    assert response.status_code == 504
    error = response.json()["error"]
    assert error["code"] == "deadline_exceeded" and error["details"] == {"sent": False}
    for hop in (middle, last):
        lines = [json.loads(line) for line in hop.log_lines() if line.startswith("{")]
        assert [r for r in lines if r.get("event") == "http.access" and r["path"] == "/budget"] == []


def test_a_slow_hop_is_cut_off_by_the_budget_not_by_the_caller_s_longer_timeout(start_sample):
    slow = json.dumps([{"target": "GET /budget", "fault": "latency", "delay_seconds": 2}])
    last = start_sample("last", FAULTS=slow)
    entry = start_sample("entry", SAMPLE_DOWNSTREAM_URL=last.url)  # its read timeout is the client's 5 s
    assert requests.get(entry.url + "/budget", timeout=10).status_code == 200  # no budget: 2 s is in time
    response = requests.get(entry.url + "/budget", headers={HEADER: "500"}, timeout=10)
    assert response.status_code == 504
    assert response.json()["error"]["details"] == {"sent": True}  # the last hop got it, the answer came too late
