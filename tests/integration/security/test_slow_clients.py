"""Slow clients: what trickling connections do to the gateway alone, and to the public entry (the front proxy).

The gateway runs under real gunicorn (gthread, 8 threads, as in ``make up`` and compose); the front proxy is
Debian's nginx with deploy/nginx/'s configuration, started the way services/stack.py starts it. Every trickle is
bounded (a byte every half second, at most 20 s) and every ordinary request has a generous client timeout.
"""

from __future__ import annotations

import pytest
import requests

from tests.support.procs import Service, free_port
from tests.support.slow_clients import BODY_PREFIX, HEADERS_PREFIX, FrontProxy, trickling

JWT_SECRET = "slow-client-tests-secret-" + "s" * 24
THREADS = 8


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    env = {"JWT_SECRET": JWT_SECRET, "TIENDA_ENV": "test", "OTEL_TRACES_EXPORTER": "none",
           "GUNICORN_THREADS": str(THREADS), "TRUSTED_PROXY_HOPS": "1"}  # fmt: skip
    tmp = tmp_path_factory.mktemp("slow-gateway")
    service = Service("services.gateway.app:create_app()", env=env, log_path=tmp / "gateway.log")
    yield service
    service.stop()


@pytest.fixture(scope="module")
def front(gateway, tmp_path_factory):
    proxy = FrontProxy(gateway.port, tmp_path_factory.mktemp("front"))
    yield proxy
    proxy.stop()


def ordinary(url: str) -> requests.Response:
    return requests.get(url + "/api/v1/openapi.json", timeout=5)


def test_eight_connections_trickling_their_headers_hold_every_thread_of_the_gateway_alone(gateway):
    """Why the gateway needs its slow-client guard: gthread reads a request's headers in one of its threads, with no
    timeout, so THREADS connections that never finish theirs leave no thread for anyone else."""
    assert ordinary(gateway.url).status_code == 200
    with trickling(gateway.port, THREADS, HEADERS_PREFIX), pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(gateway.url + "/api/v1/openapi.json", timeout=3)
    assert ordinary(gateway.url).status_code == 200  # the threads come back once the trickles stop


def test_fifty_connections_trickling_headers_or_bodies_to_the_front_proxy_leave_ordinary_requests_answered(front):
    with trickling(front.port, 25, HEADERS_PREFIX), trickling(front.port, 25, BODY_PREFIX):
        answers = [ordinary(front.url) for _ in range(10)]
        login = requests.post(front.url + "/api/v1/auth/token", json={"email": "nobody@slow.test", "password": "x"},
                              timeout=5)  # fmt: skip
    assert [r.status_code for r in answers] == [200] * 10
    assert answers[0].json()["openapi"].startswith("3.")
    # Login reached the gateway (no users service here: 503 from the gateway, in its JSON error body).
    assert login.status_code == 503
    assert login.json()["error"]["code"] == "upstream_unavailable"
    assert login.json()["error"]["request_id"]  # the gateway's answer, not one of nginx's own


def test_the_front_proxy_caps_a_body_at_64_kib_with_the_json_error_body(front):
    big = {"email": "a@b.test", "password": "x" * (64 * 1024)}
    r = requests.post(front.url + "/api/v1/auth/token", json=big, timeout=5)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "request_entity_too_large"


def test_the_front_proxy_serves_the_api_only_not_the_gateways_metrics(front, gateway):
    assert requests.get(gateway.url + "/metrics", timeout=5).status_code == 200
    r = requests.get(front.url + "/metrics", timeout=5)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_the_front_proxy_appends_the_client_address_so_a_forged_x_forwarded_for_buys_no_new_budget(front, gateway):
    """Registrations through the proxy, each with another forged X-Forwarded-For: the gateway (one trusted hop)
    reads the entry nginx appended, the same every time, and throttles past the per-address limit (20/minute)."""
    statuses = []
    for n in range(21):
        forged = {"X-Forwarded-For": f"10.1.2.{n}"}
        r = requests.post(front.url + "/api/v1/users", json={"name": "no email"}, headers=forged, timeout=5)
        statuses.append(r.status_code)
    assert statuses[:20] == [503] * 20  # reached the gateway, which has no users service to ask
    assert statuses[20] == 429


def test_the_front_proxy_answers_an_unreachable_gateway_with_the_json_error_body(tmp_path):
    proxy = FrontProxy(free_port(), tmp_path)  # nothing listens on the gateway's port
    try:
        r = requests.get(proxy.url + "/api/v1/products", timeout=5)
    finally:
        proxy.stop()
    assert r.status_code == 503
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["error"]["code"] == "upstream_unavailable"
