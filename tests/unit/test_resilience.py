"""Retries, the circuit breaker and the bulkhead of telemetry.resilience, through telemetry.http.Client
against a real local server that answers from a script."""

import threading

import pytest
import requests
from opentelemetry.trace import SpanKind

from services.common.errors import Failure, classify
from telemetry import deadline
from telemetry.http import Client
from telemetry.resilience import BulkheadFull, CircuitOpen, Policy, PolicyConfig
from tests.support.procs import free_port
from tests.support.scripted_upstream import DROP


@pytest.fixture
def pauses():
    """The pauses the policy asked for between attempts (it sleeps through this list, not the clock)."""
    return []


def _client(harness, url, pauses, **config):
    policy = Policy("payments", registry=harness.registry, config=PolicyConfig(**config), sleep=pauses.append)
    return Client(url, telemetry=harness.telemetry, name="payments", read_timeout_seconds=2.0, policy=policy)


def _value(harness, name, **labels):
    return harness.sample(name, {"upstream": "payments", **labels})


def test_a_get_answered_503_is_retried_and_returns_the_next_answer(harness, upstream, pauses):
    upstream.script(503, 200)
    response = _client(harness, upstream.url, pauses).get("/payments/1")
    assert response.status_code == 200
    assert len(upstream.requests) == 2
    assert _value(harness, "tienda_http_client_retries_total") == 1
    spans = [s for s in harness.spans() if s.kind is SpanKind.CLIENT]
    assert [s.attributes.get("http.request.resend_count") for s in spans] == [None, 1]
    assert len(pauses) == 1 and 0 < pauses[0] <= 0.05


def test_a_post_without_an_idempotency_key_is_sent_exactly_once_whatever_the_answer(harness, upstream, pauses):
    upstream.script(503, 200)
    response = _client(harness, upstream.url, pauses).post("/payments", json={"amount_cents": 100})
    assert response.status_code == 503
    assert [method for method, _, _ in upstream.requests] == ["POST"]
    assert _value(harness, "tienda_http_client_retries_total") == 0


def test_a_post_with_an_idempotency_key_is_retried_and_every_attempt_carries_the_key(harness, upstream, pauses):
    upstream.script(502, 504, 201)
    response = _client(harness, upstream.url, pauses).post(
        "/payments", json={"amount_cents": 100}, headers={"Idempotency-Key": "saga-1"}
    )
    assert response.status_code == 201
    assert [headers.get("idempotency-key") for _, _, headers in upstream.requests] == ["saga-1"] * 3


def test_a_500_answer_is_not_retried(harness, upstream, pauses):
    upstream.script(500, 200)
    assert _client(harness, upstream.url, pauses).get("/payments/1").status_code == 500
    assert len(upstream.requests) == 1


def test_retries_stop_after_max_attempts_and_the_last_answer_is_returned(harness, upstream, pauses):
    upstream.script(503, 503, 503, 503, 200)
    response = _client(harness, upstream.url, pauses, max_attempts=3).get("/payments/1")
    assert response.status_code == 503
    assert len(upstream.requests) == 3
    assert _value(harness, "tienda_http_client_retries_total") == 2


def test_a_4xx_answer_is_neither_retried_nor_a_breaker_failure(harness, upstream, pauses):
    upstream.script(*[404] * 10)
    client = _client(harness, upstream.url, pauses, failure_threshold=2)
    for _ in range(5):
        assert client.get("/payments/9").status_code == 404
    assert len(upstream.requests) == 5
    assert client.policy.breaker.state == "closed"


def test_retry_after_is_honoured_and_one_beyond_the_limit_is_not_waited_for(harness, upstream, pauses):
    upstream.script((429, {"Retry-After": "1"}), 200)
    client = _client(harness, upstream.url, pauses, max_elapsed_seconds=5.0)
    assert client.get("/payments/1").status_code == 200
    assert pauses == [1.0]

    upstream.script((503, {"Retry-After": "30"}), 200)
    assert client.get("/payments/1").status_code == 503
    assert pauses == [1.0]  # 30 s outruns max_elapsed_seconds: no retry, no wait


def test_no_retry_starts_when_the_pause_would_outrun_the_request_deadline(harness, upstream, pauses):
    upstream.script((503, {"Retry-After": "1"}), 200)
    client = _client(harness, upstream.url, pauses, max_elapsed_seconds=5.0)
    with deadline.budget(0.5):
        assert client.get("/payments/1").status_code == 503
    assert len(upstream.requests) == 1 and pauses == []


def test_a_refused_connection_is_retried_then_raised_as_an_unreachable_upstream(harness, pauses):
    client = _client(harness, f"http://127.0.0.1:{free_port()}", pauses, max_attempts=3, failure_threshold=10)
    with pytest.raises(requests.ConnectionError) as raised:
        client.get("/payments/1")
    assert classify(raised.value) is Failure.UNREACHABLE
    assert _value(harness, "tienda_http_client_retries_total") == 2


def test_a_retry_refused_after_an_attempt_whose_connection_broke_raises_the_attempt_that_may_have_taken_effect(
    harness, upstream, pauses
):
    upstream.script(DROP)  # the upstream reads the reservation, then its connection breaks: it may have held stock
    client = _client(harness, upstream.url, pauses, max_attempts=3, failure_threshold=1, reset_timeout_seconds=60)
    with pytest.raises(requests.ConnectionError) as raised:  # the retry is refused by the breaker the drop opened
        client.post("/reservations", json={}, headers={"Idempotency-Key": "reservation-1"})
    assert len(upstream.requests) == 1
    assert not isinstance(raised.value, CircuitOpen)
    assert classify(raised.value) is Failure.BAD_RESPONSE  # not UNREACHABLE: the caller must compensate


def test_a_retry_refused_after_an_attempt_answered_502_returns_that_answer_not_the_refusal(harness, upstream, pauses):
    # A proxy between the services (nginx before replicas) answers 502 when the upstream's connection broke after
    # the request was sent: the charge may have been made, and the caller must compensate, not skip the void.
    upstream.script(502)
    client = _client(harness, upstream.url, pauses, max_attempts=3, failure_threshold=1, reset_timeout_seconds=60)
    response = client.post("/payments", json={}, headers={"Idempotency-Key": "charge:saga-1"})
    assert response.status_code == 502  # the retry is refused by the breaker the 502 opened
    assert len(upstream.requests) == 1


def test_every_timed_out_attempt_is_counted(harness, upstream, pauses):
    policy = Policy("payments", registry=harness.registry, config=PolicyConfig(max_attempts=2), sleep=pauses.append)
    client = Client(upstream.url, telemetry=harness.telemetry, name="payments", read_timeout_seconds=0.2, policy=policy)
    with pytest.raises(requests.Timeout):
        client.get("/hold")
    assert _value(harness, "tienda_http_client_timeouts_total") == 2


def test_the_breaker_opens_after_consecutive_failures_and_then_fails_fast_without_sending(harness, upstream, pauses):
    upstream.script(*[500] * 10)
    client = _client(harness, upstream.url, pauses, max_attempts=1, failure_threshold=3, reset_timeout_seconds=60)
    for _ in range(3):
        assert client.get("/payments/1").status_code == 500
    with pytest.raises(CircuitOpen) as raised:
        client.get("/payments/1")
    assert len(upstream.requests) == 3
    assert 0 < raised.value.retry_after_seconds <= 60
    assert classify(raised.value) is Failure.UNREACHABLE
    assert _value(harness, "tienda_breaker_state") == 2
    assert _value(harness, "tienda_breaker_transitions_total", to="open") == 1


def test_an_open_breaker_is_not_retried(harness, upstream, pauses):
    upstream.script(*[503] * 10)
    client = _client(harness, upstream.url, pauses, max_attempts=5, failure_threshold=2, reset_timeout_seconds=60)
    with pytest.raises(CircuitOpen):  # attempts 1 and 2 answer 503, the second opens it, the third is refused
        client.get("/payments/1")
    assert len(upstream.requests) == 2
    with pytest.raises(CircuitOpen):
        client.get("/payments/1")
    assert len(upstream.requests) == 2


def test_after_the_cool_down_one_trial_call_closes_the_breaker_when_it_succeeds(harness, upstream, pauses):
    upstream.script(500, 500)
    client = _client(harness, upstream.url, pauses, max_attempts=1, failure_threshold=2, reset_timeout_seconds=0.05)
    client.get("/payments/1")
    client.get("/payments/1")
    assert client.policy.breaker.state == "open"
    threading.Event().wait(0.1)
    assert client.get("/payments/1").status_code == 200
    assert client.policy.breaker.state == "closed"
    assert _value(harness, "tienda_breaker_state") == 0
    for to in ("open", "half_open", "closed"):
        assert _value(harness, "tienda_breaker_transitions_total", to=to) == 1


def test_a_failed_trial_call_opens_the_breaker_again(harness, upstream, pauses):
    upstream.script(500, 500, 503)
    client = _client(harness, upstream.url, pauses, max_attempts=1, failure_threshold=2, reset_timeout_seconds=0.05)
    client.get("/payments/1")
    client.get("/payments/1")
    threading.Event().wait(0.1)
    assert client.get("/payments/1").status_code == 503
    assert client.policy.breaker.state == "open"
    assert _value(harness, "tienda_breaker_transitions_total", to="open") == 2
    with pytest.raises(CircuitOpen):
        client.get("/payments/1")


def test_the_bulkhead_refuses_a_call_beyond_its_limit_at_once(harness, upstream, pauses):
    client = _client(harness, upstream.url, pauses, max_concurrent=2)
    held = [threading.Thread(target=client.get, args=("/hold",)) for _ in range(2)]
    for thread in held:
        thread.start()
    while len(upstream.requests) < 2:
        threading.Event().wait(0.01)
    assert _value(harness, "tienda_bulkhead_in_flight") == 2
    with pytest.raises(BulkheadFull):
        client.get("/payments/1")
    upstream.release.set()
    for thread in held:
        thread.join(5)
    assert len(upstream.requests) == 2
    assert _value(harness, "tienda_bulkhead_rejections_total") == 1
    assert _value(harness, "tienda_bulkhead_in_flight") == 0
    assert client.get("/payments/1").status_code == 200


def test_calls_through_one_breaker_run_concurrently(harness, upstream, pauses):
    client = _client(harness, upstream.url, pauses, max_concurrent=4)
    held = [threading.Thread(target=client.get, args=("/hold",)) for _ in range(3)]
    for thread in held:
        thread.start()
    while len(upstream.requests) < 3:  # all three reached the upstream while none had answered
        threading.Event().wait(0.01)
    upstream.release.set()
    for thread in held:
        thread.join(5)


def test_every_upstream_series_exists_at_its_resting_value_from_the_start(harness, upstream, pauses):
    _client(harness, upstream.url, pauses)
    assert _value(harness, "tienda_breaker_state") == 0
    for name in (
        "tienda_http_client_retries_total",
        "tienda_http_client_timeouts_total",
        "tienda_bulkhead_rejections_total",
    ):
        assert _value(harness, name) == 0
    assert _value(harness, "tienda_breaker_transitions_total", to="open") == 0


def test_a_policy_refuses_limits_that_make_no_sense():
    with pytest.raises(ValueError, match="max_attempts"):
        PolicyConfig(max_attempts=0)
    with pytest.raises(ValueError, match="reset_timeout_seconds"):
        PolicyConfig(reset_timeout_seconds=-1)
