"""services.common.web.upstream_client: every client to another service gets its own policy from the settings."""

from __future__ import annotations

import json

import pytest
import requests
from flask import Blueprint

from services.common.contract import AuditKey, KeysetPage, KeysetQuery
from services.common.settings import Settings
from services.common.web import audit_read, failed_itself, upstream_client
from telemetry.resilience import CircuitOpen, PolicyConfig


def answer(status: int, body: object, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers.update(headers or {})
    return response


@pytest.mark.parametrize(
    ("status", "body", "failed"),
    [
        (500, {"error": {"code": "internal"}}, True),
        (503, "not a json error", True),
        (503, {"error": {"details": {"upstream": "orders"}}}, True),
        (503, {"error": {"details": {"upstream": "payments"}}}, False),
        (502, {"error": {"details": {"upstream": "products"}}}, False),
        (409, {"error": {"code": "conflict"}}, False),
    ],
)
def test_an_answer_counts_against_the_breaker_only_when_the_upstream_itself_failed(status, body, failed):
    assert failed_itself("orders")(answer(status, body)) is failed


def test_a_replayed_answer_never_counts_against_the_breaker_whatever_its_status():
    interrupted = {"error": {"code": "order_interrupted", "message": "The order was interrupted."}}
    assert failed_itself("orders")(answer(503, interrupted)) is True
    assert failed_itself("orders")(answer(503, interrupted, {"Idempotent-Replayed": "true"})) is False


def test_an_upstream_client_opens_its_breaker_after_the_configured_failures_and_then_sends_nothing(harness):
    settings = Settings.from_env("shop", env={"BREAKER_FAILURE_THRESHOLD": "2"})
    client = upstream_client(harness.telemetry, settings, "payments", "http://127.0.0.1:9", connect_timeout_seconds=0.2,
                             read_timeout_seconds=0.2)  # fmt: skip
    for _ in range(2):  # nothing listens on port 9: each POST is refused (and never retried)
        with pytest.raises(requests.ConnectionError):
            client.post("/payments")
    with pytest.raises(CircuitOpen):
        client.post("/payments")

    sent = {
        "server_address": "127.0.0.1",
        "server_port": "9",
        "http_request_method": "POST",
        "http_response_status_code": "0",
    }
    assert harness.sample("http_client_request_duration_seconds_count", sent) == 2
    assert client.policy is not None and client.policy.config == PolicyConfig(failure_threshold=2)
    assert harness.sample("tienda_breaker_state", {"upstream": "payments"}) == 2


class TwoLists(KeysetPage[AuditKey]):
    orders: list[str]
    payments: list[str]


def test_an_audit_read_whose_page_holds_two_lists_of_rows_is_refused_as_its_route_is_declared():
    with pytest.raises(TypeError, match="TwoLists must hold one list of rows besides next"):
        audit_read(Blueprint("b", __name__), "twice", KeysetQuery[AuditKey], TwoLists, lambda **_: [], str)
