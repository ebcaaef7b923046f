"""Deadline budgets (telemetry.deadline): read from the request, kept for domain code, honoured by the client."""

import pytest
import requests
from flask import Flask
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

import telemetry
from telemetry import deadline
from telemetry.config import ConfigError, TelemetryConfig
from telemetry.deadline import DeadlineExceeded
from telemetry.http import Client
from tests.support.procs import free_port

HEADER = "X-Request-Budget-Ms"


def _remaining_ms(h, headers=None):
    return h.client.get("/budget", headers=headers or {}).get_json()["remaining_ms"]


# The budget of the current work


def test_outside_a_request_there_is_no_deadline():
    assert deadline.remaining_seconds() is None
    assert deadline.spent() is False
    deadline.check()  # nothing to refuse


def test_a_budget_block_sets_a_deadline_and_restores_the_previous_one():
    with deadline.budget(600):
        assert 0 < deadline.remaining_seconds() <= 600
    assert deadline.remaining_seconds() is None


def test_a_nested_budget_never_extends_the_outer_deadline():
    with deadline.budget(2), deadline.budget(600):
        assert deadline.remaining_seconds() <= 2
    with deadline.budget(600), deadline.budget(2):
        assert deadline.remaining_seconds() <= 2


def test_detached_work_has_no_deadline_even_a_spent_one_and_the_request_gets_its_own_back_after():
    with deadline.budget(0):
        with deadline.detached():
            assert deadline.remaining_seconds() is None and not deadline.spent()
            deadline.check("giving the stock back")  # nothing to refuse
        assert deadline.spent()


def test_a_spent_budget_is_refused_by_check_as_a_timeout_that_sent_nothing():
    with deadline.budget(0), pytest.raises(DeadlineExceeded) as raised:
        deadline.check("the charge")
    assert isinstance(raised.value, requests.Timeout)
    assert raised.value.sent is False
    assert "the charge" in str(raised.value)


@pytest.mark.parametrize(
    ("timeout", "capped"),
    [
        ((1.0, 10.0), (1.0, 2.5)),
        ((5.0, 10.0), (2.5, 2.5)),
        ((1.0, None), (1.0, 2.5)),
        (10.0, 2.5),
        (1.0, 1.0),
        (None, 2.5),
    ],
)
def test_every_part_of_a_timeout_is_capped_to_the_remaining_budget(timeout, capped):
    assert deadline.cap_timeout(timeout, 2.5) == capped


def test_the_header_carries_whole_milliseconds_rounded_down_and_never_negative():
    assert deadline.header_value(1.2349) == "1234"
    assert deadline.header_value(-3) == "0"


# The server hooks


def test_an_internal_hop_honours_the_budget_it_receives(make_harness):
    h = make_harness()
    assert 0 < _remaining_ms(h, {HEADER: "5000"}) <= 5000


def test_an_internal_hop_without_the_header_has_no_deadline(make_harness):
    assert _remaining_ms(make_harness()) is None


@pytest.mark.parametrize("value", ["soon", "-5", "1.5", "²", "9" * 12, ""])
def test_a_malformed_budget_is_ignored_and_logged(make_harness, value):
    h = make_harness()
    assert _remaining_ms(h, {HEADER: value}) is None
    (warning,) = [r for r in h.logs() if r.get("event") == "deadline.malformed"]
    assert warning["level"] == "WARNING" and warning["request_id"]


def test_the_public_entry_gives_a_request_without_a_budget_its_own(make_harness):
    h = make_harness(REQUEST_BUDGET_SECONDS="3")
    assert 0 < _remaining_ms(h) <= 3000


def test_the_public_entry_lets_a_client_ask_for_less_time_but_never_more(make_harness):
    h = make_harness(REQUEST_BUDGET_SECONDS="3")
    assert _remaining_ms(h, {HEADER: "600000"}) <= 3000
    assert _remaining_ms(h, {HEADER: "800"}) <= 800
    assert _remaining_ms(h, {HEADER: "nonsense"}) <= 3000


def test_the_deadline_ends_with_its_request(make_harness):
    h = make_harness()
    _remaining_ms(h, {HEADER: "5000"})
    assert _remaining_ms(h) is None
    assert deadline.remaining_seconds() is None


def _entry(budget_seconds):
    app = Flask("entry")
    telemetry.instrument(
        app,
        service_name="entry",
        configure_logs=False,
        tracer_provider=TracerProvider(),
        registry=CollectorRegistry(),
        request_budget_seconds=budget_seconds,
    )

    @app.get("/left")
    def left():
        return {"remaining": deadline.remaining_seconds()}

    return app.test_client().get("/left").get_json()["remaining"]


def test_an_app_instrumented_with_a_request_budget_is_a_public_entry():
    assert 0 < _entry(2) <= 2


def test_request_budget_seconds_in_the_environment_overrides_the_app_s_budget(monkeypatch):
    monkeypatch.setenv("REQUEST_BUDGET_SECONDS", "1")
    assert 0 < _entry(600) <= 1


@pytest.mark.parametrize("value", ["0", "-1", "soon", "3601"])
def test_a_malformed_request_budget_is_a_config_error_naming_it(value):
    with pytest.raises(ConfigError, match="REQUEST_BUDGET_SECONDS"):
        TelemetryConfig.from_env("x", env={"REQUEST_BUDGET_SECONDS": value})


# The HTTP client


def test_the_budget_left_is_forwarded_to_the_internal_upstream_only(make_harness, upstream, other_host):
    h = make_harness()
    client = Client(upstream.url, telemetry=h.telemetry)
    with h.app.test_request_context("/", headers={HEADER: "4000"}):
        h.app.preprocess_request()
        client.get("/x")
        client.get(other_host.url + "/y")
        h.app.do_teardown_request()
    (sent,) = upstream.headers
    assert 0 <= int(sent[HEADER.lower()]) <= 4000
    (elsewhere,) = other_host.headers
    assert HEADER.lower() not in elsewhere


def test_a_call_without_a_deadline_carries_no_budget(make_harness, upstream):
    h = make_harness()
    Client(upstream.url, telemetry=h.telemetry).get("/x")
    assert HEADER.lower() not in upstream.headers[0]


def test_a_call_with_no_budget_left_is_refused_without_sending(make_harness, upstream):
    h = make_harness()
    client = Client(upstream.url, telemetry=h.telemetry, name="payments")
    with deadline.budget(0), pytest.raises(DeadlineExceeded) as raised:
        client.get("/x")
    assert raised.value.sent is False
    assert "payments" in str(raised.value)
    assert upstream.headers == []


def test_a_call_is_cut_short_by_the_budget_and_says_so(make_harness, upstream):
    h = make_harness()
    client = Client(upstream.url, telemetry=h.telemetry, read_timeout_seconds=30)
    with deadline.budget(0.3), pytest.raises(DeadlineExceeded) as raised:
        client.get("/hold")
    upstream.release.set()
    assert raised.value.sent is True
    assert isinstance(raised.value.__cause__, requests.ReadTimeout)
    assert len(upstream.headers) == 1


def test_a_timeout_within_the_budget_stays_an_ordinary_timeout(make_harness, upstream):
    h = make_harness()
    client = Client(upstream.url, telemetry=h.telemetry, read_timeout_seconds=0.2)
    with deadline.budget(600), pytest.raises(requests.ReadTimeout) as raised:
        client.get("/hold")
    upstream.release.set()
    assert not isinstance(raised.value, DeadlineExceeded)


def test_a_refused_connection_within_the_budget_stays_a_connection_error(make_harness):
    h = make_harness()
    client = Client(f"http://127.0.0.1:{free_port()}", telemetry=h.telemetry)
    with deadline.budget(600), pytest.raises(requests.ConnectionError):
        client.get("/x")
